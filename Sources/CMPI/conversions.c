/* Conversions between the C and Fortran forms of handles and statuses (MPI 3.1 section
   17.2.4). An integer handle is already a valid Fortran INTEGER, so the conversions are the
   identity, as in MPICH; a status is five integers in the same order in both languages. The
   MPI_X entry points that forward here are generated into entry_points.c. */
#include "mpi.h"

MPI_Fint PMPI_Comm_c2f(MPI_Comm comm) { return (MPI_Fint)comm; }
MPI_Comm PMPI_Comm_f2c(MPI_Fint comm) { return (MPI_Comm)comm; }
MPI_Fint PMPI_Type_c2f(MPI_Datatype datatype) { return (MPI_Fint)datatype; }
MPI_Datatype PMPI_Type_f2c(MPI_Fint datatype) { return (MPI_Datatype)datatype; }
MPI_Fint PMPI_Group_c2f(MPI_Group group) { return (MPI_Fint)group; }
MPI_Group PMPI_Group_f2c(MPI_Fint group) { return (MPI_Group)group; }
MPI_Fint PMPI_Request_c2f(MPI_Request request) { return (MPI_Fint)request; }
MPI_Request PMPI_Request_f2c(MPI_Fint request) { return (MPI_Request)request; }
MPI_Fint PMPI_Op_c2f(MPI_Op op) { return (MPI_Fint)op; }
MPI_Op PMPI_Op_f2c(MPI_Fint op) { return (MPI_Op)op; }
MPI_Fint PMPI_Errhandler_c2f(MPI_Errhandler errhandler) { return (MPI_Fint)errhandler; }
MPI_Errhandler PMPI_Errhandler_f2c(MPI_Fint errhandler) { return (MPI_Errhandler)errhandler; }
MPI_Fint PMPI_Info_c2f(MPI_Info info) { return (MPI_Fint)info; }
MPI_Info PMPI_Info_f2c(MPI_Fint info) { return (MPI_Info)info; }
MPI_Fint PMPI_Win_c2f(MPI_Win win) { return (MPI_Fint)win; }
MPI_Win PMPI_Win_f2c(MPI_Fint win) { return (MPI_Win)win; }
MPI_Fint PMPI_Message_c2f(MPI_Message message) { return (MPI_Fint)message; }
MPI_Message PMPI_Message_f2c(MPI_Fint message) { return (MPI_Message)message; }

/* Ferry opens no files (MPI-IO is not implemented), so the only file handle is
   MPI_FILE_NULL, whose Fortran form is 0. */
MPI_Fint PMPI_File_c2f(MPI_File file) {
    (void)file;
    return 0;
}

MPI_File PMPI_File_f2c(MPI_Fint file) {
    (void)file;
    return MPI_FILE_NULL;
}

/* A bad argument goes through MPI_COMM_WORLD's error handler, like every failing call. */
static int invalid_argument(void) {
    PMPI_Comm_call_errhandler(MPI_COMM_WORLD, MPI_ERR_ARG);
    return MPI_ERR_ARG;
}

int PMPI_Status_c2f(const MPI_Status *c_status, MPI_Fint *f_status) {
    if (c_status == 0 || c_status == MPI_STATUS_IGNORE || f_status == 0 ||
        f_status == MPI_F_STATUS_IGNORE || f_status == MPI_F_STATUSES_IGNORE) {
        return invalid_argument();
    }
    f_status[0] = c_status->count_lo;
    f_status[1] = c_status->count_hi_and_cancelled;
    f_status[2] = c_status->MPI_SOURCE;
    f_status[3] = c_status->MPI_TAG;
    f_status[4] = c_status->MPI_ERROR;
    return MPI_SUCCESS;
}

int PMPI_Status_f2c(const MPI_Fint *f_status, MPI_Status *c_status) {
    if (f_status == 0 || f_status == MPI_F_STATUS_IGNORE || f_status == MPI_F_STATUSES_IGNORE ||
        c_status == 0 || c_status == MPI_STATUS_IGNORE) {
        return invalid_argument();
    }
    c_status->count_lo = f_status[0];
    c_status->count_hi_and_cancelled = f_status[1];
    c_status->MPI_SOURCE = f_status[2];
    c_status->MPI_TAG = f_status[3];
    c_status->MPI_ERROR = f_status[4];
    return MPI_SUCCESS;
}
