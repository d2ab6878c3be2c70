// ranks: 2 3 4
/* Status functions: MPI_Get_count / MPI_Get_elements / MPI_Get_elements_x on statuses of real
   receives (basic, pair and derived types, sizes that are not whole elements), the
   MPI_UNDEFINED cases, MPI_Status_set_elements(_x) and MPI_Status_set_cancelled /
   MPI_Test_cancelled, and the error classes of bad arguments. Runs at any size >= 2. */
#include "check.h"

static int rank, size;

static int is_ferry(void) {
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len;
    MPI_Get_library_version(lib, &len);
    return strstr(lib, "Ferry") != NULL;
}

static void counts_of_receives(void) {
    if (rank > 1) return;
    int peer = 1 - rank;
    char bytes[64];
    for (int i = 0; i < 64; i++) bytes[i] = (char)i;
    if (rank == 0) {
        MPI_Send(bytes, 40, MPI_BYTE, peer, 1, MPI_COMM_WORLD);   /* 10 ints */
        MPI_Send(bytes, 3, MPI_BYTE, peer, 2, MPI_COMM_WORLD);    /* not a whole int */
        MPI_Send(bytes, 20, MPI_BYTE, peer, 3, MPI_COMM_WORLD);   /* double_int + double */
        MPI_Send(bytes, 16, MPI_BYTE, peer, 4, MPI_COMM_WORLD);   /* 4 ints of a 3-int struct */
        MPI_Send(bytes, 0, MPI_BYTE, peer, 5, MPI_COMM_WORLD);
    } else {
        MPI_Status st;
        int c = -1;
        MPI_Count cx = -1;
        char in[64];
        MPI_Recv(in, 64, MPI_BYTE, peer, 1, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_INT, &c);       CHECK_EQ(c, 10);
        MPI_Get_count(&st, MPI_SHORT, &c);     CHECK_EQ(c, 20);
        MPI_Get_count(&st, MPI_DOUBLE, &c);    CHECK_EQ(c, 5);
        MPI_Get_count(&st, MPI_BYTE, &c);      CHECK_EQ(c, 40);
        MPI_Get_count(&st, MPI_C_DOUBLE_COMPLEX, &c); CHECK_EQ(c, MPI_UNDEFINED);
        MPI_Get_elements(&st, MPI_INT, &c);    CHECK_EQ(c, 10);
        MPI_Get_elements_x(&st, MPI_INT, &cx); CHECK_EQ(cx, 10);

        MPI_Recv(in, 64, MPI_BYTE, peer, 2, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_INT, &c);       CHECK_EQ(c, MPI_UNDEFINED);
        MPI_Get_elements(&st, MPI_INT, &c);    CHECK_EQ(c, MPI_UNDEFINED);
        MPI_Get_elements_x(&st, MPI_INT, &cx); CHECK_EQ(cx, MPI_UNDEFINED);
        MPI_Get_count(&st, MPI_CHAR, &c);      CHECK_EQ(c, 3);

        /* A pair type counts two basic elements; a lone double is one more. */
        MPI_Recv(in, 64, MPI_BYTE, peer, 3, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_DOUBLE_INT, &c);    CHECK_EQ(c, MPI_UNDEFINED);
        MPI_Get_elements(&st, MPI_DOUBLE_INT, &c); CHECK_EQ(c, 3);

        /* struct { int; int; int } as a derived type: 16 bytes = 1 whole + 1 int. */
        MPI_Datatype three;
        MPI_Type_contiguous(3, MPI_INT, &three);
        MPI_Type_commit(&three);
        MPI_Recv(in, 64, MPI_BYTE, peer, 4, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, three, &c);        CHECK_EQ(c, MPI_UNDEFINED);
        MPI_Get_elements(&st, three, &c);     CHECK_EQ(c, 4);
        MPI_Get_elements_x(&st, three, &cx);  CHECK_EQ(cx, 4);
        MPI_Type_free(&three);

        MPI_Recv(in, 64, MPI_BYTE, peer, 5, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_INT, &c);      CHECK_EQ(c, 0);
        MPI_Get_elements(&st, MPI_INT, &c);   CHECK_EQ(c, 0);
        int cancelled = -1;
        MPI_Test_cancelled(&st, &cancelled);  CHECK_EQ(cancelled, 0);
    }
}

static void setters(void) {
    MPI_Status st;
    memset(&st, 0, sizeof st);
    int c = -1, flag = -1;
    MPI_Count cx = -1;
    CHECK_EQ(MPI_Status_set_elements(&st, MPI_INT, 3), MPI_SUCCESS);
    MPI_Get_count(&st, MPI_INT, &c);     CHECK_EQ(c, 3);
    MPI_Get_count(&st, MPI_SHORT, &c);   CHECK_EQ(c, 6);
    MPI_Get_elements(&st, MPI_INT, &c);  CHECK_EQ(c, 3);
    MPI_Get_count(&st, MPI_DOUBLE, &c);  CHECK_EQ(c, MPI_UNDEFINED);
    /* Large counts go to the high word; the cancelled bit is independent. */
    CHECK_EQ(MPI_Status_set_cancelled(&st, 1), MPI_SUCCESS);
    CHECK_EQ(MPI_Status_set_elements_x(&st, MPI_DOUBLE, (MPI_Count)3 << 28), MPI_SUCCESS);
    MPI_Get_elements_x(&st, MPI_DOUBLE, &cx);
    CHECK_EQ(cx, (MPI_Count)3 << 28);
    MPI_Get_count(&st, MPI_DOUBLE, &c);  CHECK_EQ(c, 3 << 28);
    MPI_Get_count(&st, MPI_BYTE, &c);    CHECK_EQ(c, MPI_UNDEFINED);   /* more than an int */
    MPI_Test_cancelled(&st, &flag);      CHECK_EQ(flag, 1);
    MPI_Status_set_cancelled(&st, 0);
    MPI_Test_cancelled(&st, &flag);      CHECK_EQ(flag, 0);
    MPI_Get_elements_x(&st, MPI_DOUBLE, &cx);
    CHECK_EQ(cx, (MPI_Count)3 << 28);
    if (is_ferry()) {
        /* MPI-3.1 3.2.5: MPI_Get_elements returns the count that was set, also for pair and
           derived types (MPICH stores count * size here, so this is asked of Ferry only). */
        MPI_Status_set_elements(&st, MPI_2INT, 4);
        MPI_Get_elements(&st, MPI_2INT, &c); CHECK_EQ(c, 4);
        MPI_Get_count(&st, MPI_2INT, &c);    CHECK_EQ(c, 2);
        MPI_Status_set_elements(&st, MPI_DOUBLE_INT, 3);
        MPI_Get_elements(&st, MPI_DOUBLE_INT, &c); CHECK_EQ(c, 3);
        MPI_Get_count(&st, MPI_DOUBLE_INT, &c);    CHECK_EQ(c, MPI_UNDEFINED);
        MPI_Datatype two;
        MPI_Type_contiguous(2, MPI_INT, &two);
        MPI_Type_commit(&two);
        MPI_Status_set_elements(&st, two, 3);
        MPI_Get_elements(&st, two, &c);  CHECK_EQ(c, 3);
        MPI_Get_count(&st, two, &c);     CHECK_EQ(c, MPI_UNDEFINED);
        MPI_Status_set_elements(&st, two, 4);
        MPI_Get_count(&st, two, &c);     CHECK_EQ(c, 2);
        MPI_Type_free(&two);
    }
}

static void errors(void) {
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Status st;
    int c;
    memset(&st, 0, sizeof st);
    CHECK_CLASS(MPI_Get_count(&st, MPI_DATATYPE_NULL, &c), MPI_ERR_TYPE);
    CHECK_CLASS(MPI_Get_elements(&st, MPI_DATATYPE_NULL, &c), MPI_ERR_TYPE);
    CHECK_CLASS(MPI_Status_set_elements(&st, MPI_INT, -1), MPI_ERR_COUNT);
    CHECK_CLASS(MPI_Status_set_elements(&st, MPI_DATATYPE_NULL, 1), MPI_ERR_TYPE);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

int main(int argc, char **argv) {
    test_begin(&argc, &argv, 60);
    rank = my_rank;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    STAGE("counts_of_receives"); counts_of_receives();
    STAGE("setters"); setters();
    STAGE("errors"); errors();
    return test_end("p2p_status");
}
