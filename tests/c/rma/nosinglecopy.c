/* MPI_Win_create when the kernel may refuse single copy between the ranks (rank 1 makes itself
 * non-dumpable; without CAP_SYS_PTRACE, process_vm_readv into it is then refused). Every rank
 * must get the same answer: success, or (Ferry, whose windows on user memory need single
 * copy) MPI_ERR_UNSUPPORTED_OPERATION. With the argument "refused" the refusal is required
 * (the run script passes it when it starts the job without CAP_SYS_PTRACE). MPI_Win_allocate
 * must work either way. */
#include "common.h"
#include <sys/prctl.h>

int main(int argc, char **argv) {
    test_begin(&argc, &argv, 60);
    int must_refuse = argc > 1 && strcmp(argv[1], "refused") == 0;
    if (rank_ == 1) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int buf[4] = { 0, 0, 0, 0 };
    MPI_Win win;
    int c = error_class(MPI_Win_create(buf, sizeof buf, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    CHECK(c == MPI_SUCCESS || c == MPI_ERR_UNSUPPORTED_OPERATION);
    if (must_refuse && size_ > 1) CHECK_EQ(c, MPI_ERR_UNSUPPORTED_OPERATION);
    int mine = c, other = -1;
    MPI_Allreduce(&mine, &other, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    CHECK_EQ(other, mine);   /* same answer everywhere */
    if (c == MPI_SUCCESS) {
        int v = rank_ + 1;
        CHECK_RC(MPI_Win_fence(0, win));
        CHECK_RC(MPI_Put(&v, 1, MPI_INT, (rank_ + 1) % size_, 0, 1, MPI_INT, win));
        CHECK_RC(MPI_Win_fence(0, win));
        CHECK_EQ(buf[0], (rank_ + size_ - 1) % size_ + 1);
        CHECK_RC(MPI_Win_free(&win));
    }
    int *mem;
    CHECK_RC(MPI_Win_allocate(64, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    mem[0] = -1;
    int v = rank_ + 1;
    CHECK_RC(MPI_Win_fence(0, win));
    CHECK_RC(MPI_Put(&v, 1, MPI_INT, (rank_ + 1) % size_, 0, 1, MPI_INT, win));
    CHECK_RC(MPI_Win_fence(0, win));
    CHECK_EQ(mem[0], (rank_ + size_ - 1) % size_ + 1);
    CHECK_RC(MPI_Win_free(&win));
    return test_end("rma-nosinglecopy");
}
