/* The MPI tool information interface (MPI_T_*, MPI 3.1 section 14.3), in C because it
   needs nothing from the runtime and works before MPI_Init and after MPI_Finalize.

   Ferry exposes no control variables, no performance variables and no categories (the
   standard lets an implementation export none), so a tool sees an empty catalog: counts are
   zero, every index, name and handle is invalid, and performance-variable sessions hold no
   handles. What the standard asks of the interface itself holds: MPI_T_init_thread and
   MPI_T_finalize nest and are thread-safe, every other call fails with
   MPI_T_ERR_NOT_INITIALIZED outside them, and sessions are real objects. MPI_T errors are
   returned, never passed to an error handler. */
#include "mpi.h"
#include <stdatomic.h>
#include <stdlib.h>

/* MPI_T_init_thread calls not yet matched by MPI_T_finalize. */
static atomic_int initializations;

/* Stands for "all handles of the session": an address no handle can have. */
static char all_handles_sentinel;
struct MPIR_T_pvar_handle_s *const MPI_T_PVAR_ALL_HANDLES =
    (struct MPIR_T_pvar_handle_s *)&all_handles_sentinel;

/* A performance-variable session; the tag catches a pointer that is not one. */
struct MPIR_T_pvar_session_s {
    unsigned tag;
};
enum { session_tag = 0x5e55104du };

#define REQUIRE_INITIALIZED()                                                                  \
    do {                                                                                       \
        if (atomic_load(&initializations) <= 0) return MPI_T_ERR_NOT_INITIALIZED;             \
    } while (0)

static int valid_session(MPI_T_pvar_session session) {
    return session != MPI_T_PVAR_SESSION_NULL && session->tag == session_tag;
}

int PMPI_T_init_thread(int required, int *provided) {
    if (provided == 0) return MPI_T_ERR_INVALID;
    atomic_fetch_add(&initializations, 1);
    /* Nothing here depends on threads: any level is provided as asked. */
    *provided = required < MPI_THREAD_SINGLE     ? MPI_THREAD_SINGLE
                : required > MPI_THREAD_MULTIPLE ? MPI_THREAD_MULTIPLE
                                                 : required;
    return MPI_SUCCESS;
}

int PMPI_T_finalize(void) {
    int count = atomic_load(&initializations);
    do {
        if (count <= 0) return MPI_T_ERR_NOT_INITIALIZED;
    } while (!atomic_compare_exchange_weak(&initializations, &count, count - 1));
    return MPI_SUCCESS;
}

/* Enumerations: a variable's enumeration handle would come from its info; there are none. */
int PMPI_T_enum_get_info(MPI_T_enum enumtype, int *num, char *name, int *name_len) {
    (void)enumtype, (void)num, (void)name, (void)name_len;
    REQUIRE_INITIALIZED();
    return MPI_T_ERR_INVALID_HANDLE;
}

int PMPI_T_enum_get_item(MPI_T_enum enumtype, int indx, int *value, char *name, int *name_len) {
    (void)enumtype, (void)indx, (void)value, (void)name, (void)name_len;
    REQUIRE_INITIALIZED();
    return MPI_T_ERR_INVALID_HANDLE;
}

/* Control variables. */
int PMPI_T_cvar_get_num(int *num_cvar) {
    REQUIRE_INITIALIZED();
    if (num_cvar == 0) return MPI_T_ERR_INVALID;
    *num_cvar = 0;
    return MPI_SUCCESS;
}

int PMPI_T_cvar_get_info(int cvar_index, char *name, int *name_len, int *verbosity,
                         MPI_Datatype *datatype, MPI_T_enum *enumtype, char *desc, int *desc_len,
                         int *bind, int *scope) {
    (void)cvar_index, (void)name, (void)name_len, (void)verbosity, (void)datatype;
    (void)enumtype, (void)desc, (void)desc_len, (void)bind, (void)scope;
    REQUIRE_INITIALIZED();
    return MPI_T_ERR_INVALID_INDEX;
}

int PMPI_T_cvar_get_index(const char *name, int *cvar_index) {
    (void)cvar_index;
    REQUIRE_INITIALIZED();
    if (name == 0) return MPI_T_ERR_INVALID;
    return MPI_T_ERR_INVALID_NAME;
}

int PMPI_T_cvar_handle_alloc(int cvar_index, void *obj_handle, MPI_T_cvar_handle *handle,
                             int *count) {
    (void)cvar_index, (void)obj_handle, (void)handle, (void)count;
    REQUIRE_INITIALIZED();
    return MPI_T_ERR_INVALID_INDEX;
}

int PMPI_T_cvar_handle_free(MPI_T_cvar_handle *handle) {
    (void)handle;
    REQUIRE_INITIALIZED();
    return MPI_T_ERR_INVALID_HANDLE;
}

int PMPI_T_cvar_read(MPI_T_cvar_handle handle, void *buf) {
    (void)handle, (void)buf;
    REQUIRE_INITIALIZED();
    return MPI_T_ERR_INVALID_HANDLE;
}

int PMPI_T_cvar_write(MPI_T_cvar_handle handle, const void *buf) {
    (void)handle, (void)buf;
    REQUIRE_INITIALIZED();
    return MPI_T_ERR_INVALID_HANDLE;
}

/* Performance variables. */
int PMPI_T_pvar_get_num(int *num_pvar) {
    REQUIRE_INITIALIZED();
    if (num_pvar == 0) return MPI_T_ERR_INVALID;
    *num_pvar = 0;
    return MPI_SUCCESS;
}

int PMPI_T_pvar_get_info(int pvar_index, char *name, int *name_len, int *verbosity, int *var_class,
                         MPI_Datatype *datatype, MPI_T_enum *enumtype, char *desc, int *desc_len,
                         int *bind, int *readonly, int *continuous, int *atomic) {
    (void)pvar_index, (void)name, (void)name_len, (void)verbosity, (void)var_class;
    (void)datatype, (void)enumtype, (void)desc, (void)desc_len, (void)bind;
    (void)readonly, (void)continuous, (void)atomic;
    REQUIRE_INITIALIZED();
    return MPI_T_ERR_INVALID_INDEX;
}

int PMPI_T_pvar_get_index(const char *name, int var_class, int *pvar_index) {
    (void)var_class, (void)pvar_index;
    REQUIRE_INITIALIZED();
    if (name == 0) return MPI_T_ERR_INVALID;
    return MPI_T_ERR_INVALID_NAME;
}

int PMPI_T_pvar_session_create(MPI_T_pvar_session *session) {
    REQUIRE_INITIALIZED();
    if (session == 0) return MPI_T_ERR_INVALID;
    struct MPIR_T_pvar_session_s *created = malloc(sizeof *created);
    if (created == 0) return MPI_T_ERR_MEMORY;
    created->tag = session_tag;
    *session = created;
    return MPI_SUCCESS;
}

int PMPI_T_pvar_session_free(MPI_T_pvar_session *session) {
    REQUIRE_INITIALIZED();
    if (session == 0 || !valid_session(*session)) return MPI_T_ERR_INVALID_SESSION;
    (*session)->tag = 0;
    free(*session);
    *session = MPI_T_PVAR_SESSION_NULL;
    return MPI_SUCCESS;
}

int PMPI_T_pvar_handle_alloc(MPI_T_pvar_session session, int pvar_index, void *obj_handle,
                             MPI_T_pvar_handle *handle, int *count) {
    (void)pvar_index, (void)obj_handle, (void)handle, (void)count;
    REQUIRE_INITIALIZED();
    if (!valid_session(session)) return MPI_T_ERR_INVALID_SESSION;
    return MPI_T_ERR_INVALID_INDEX;
}

int PMPI_T_pvar_handle_free(MPI_T_pvar_session session, MPI_T_pvar_handle *handle) {
    (void)handle;
    REQUIRE_INITIALIZED();
    if (!valid_session(session)) return MPI_T_ERR_INVALID_SESSION;
    return MPI_T_ERR_INVALID_HANDLE;
}

/* Start, stop and reset act on one handle or, with MPI_T_PVAR_ALL_HANDLES, on every handle
   of the session: there are none, so that form succeeds. */
static int on_all_handles(MPI_T_pvar_session session, MPI_T_pvar_handle handle) {
    REQUIRE_INITIALIZED();
    if (!valid_session(session)) return MPI_T_ERR_INVALID_SESSION;
    return handle == MPI_T_PVAR_ALL_HANDLES ? MPI_SUCCESS : MPI_T_ERR_INVALID_HANDLE;
}

int PMPI_T_pvar_start(MPI_T_pvar_session session, MPI_T_pvar_handle handle) {
    return on_all_handles(session, handle);
}

int PMPI_T_pvar_stop(MPI_T_pvar_session session, MPI_T_pvar_handle handle) {
    return on_all_handles(session, handle);
}

int PMPI_T_pvar_reset(MPI_T_pvar_session session, MPI_T_pvar_handle handle) {
    return on_all_handles(session, handle);
}

/* Reading and writing need one real handle. */
static int on_one_handle(MPI_T_pvar_session session) {
    REQUIRE_INITIALIZED();
    if (!valid_session(session)) return MPI_T_ERR_INVALID_SESSION;
    return MPI_T_ERR_INVALID_HANDLE;
}

int PMPI_T_pvar_read(MPI_T_pvar_session session, MPI_T_pvar_handle handle, void *buf) {
    (void)handle, (void)buf;
    return on_one_handle(session);
}

int PMPI_T_pvar_write(MPI_T_pvar_session session, MPI_T_pvar_handle handle, const void *buf) {
    (void)handle, (void)buf;
    return on_one_handle(session);
}

int PMPI_T_pvar_readreset(MPI_T_pvar_session session, MPI_T_pvar_handle handle, void *buf) {
    (void)handle, (void)buf;
    return on_one_handle(session);
}

/* Categories. */
int PMPI_T_category_get_num(int *num_cat) {
    REQUIRE_INITIALIZED();
    if (num_cat == 0) return MPI_T_ERR_INVALID;
    *num_cat = 0;
    return MPI_SUCCESS;
}

int PMPI_T_category_get_info(int cat_index, char *name, int *name_len, char *desc, int *desc_len,
                             int *num_cvars, int *num_pvars, int *num_categories) {
    (void)cat_index, (void)name, (void)name_len, (void)desc, (void)desc_len;
    (void)num_cvars, (void)num_pvars, (void)num_categories;
    REQUIRE_INITIALIZED();
    return MPI_T_ERR_INVALID_INDEX;
}

int PMPI_T_category_get_index(const char *name, int *cat_index) {
    (void)cat_index;
    REQUIRE_INITIALIZED();
    if (name == 0) return MPI_T_ERR_INVALID;
    return MPI_T_ERR_INVALID_NAME;
}

int PMPI_T_category_get_cvars(int cat_index, int len, int indices[]) {
    (void)cat_index, (void)len, (void)indices;
    REQUIRE_INITIALIZED();
    return MPI_T_ERR_INVALID_INDEX;
}

int PMPI_T_category_get_pvars(int cat_index, int len, int indices[]) {
    (void)cat_index, (void)len, (void)indices;
    REQUIRE_INITIALIZED();
    return MPI_T_ERR_INVALID_INDEX;
}

int PMPI_T_category_get_categories(int cat_index, int len, int indices[]) {
    (void)cat_index, (void)len, (void)indices;
    REQUIRE_INITIALIZED();
    return MPI_T_ERR_INVALID_INDEX;
}

/* The catalog never changes, so its stamp stays 0. */
int PMPI_T_category_changed(int *update_number) {
    REQUIRE_INITIALIZED();
    if (update_number == 0) return MPI_T_ERR_INVALID;
    *update_number = 0;
    return MPI_SUCCESS;
}
