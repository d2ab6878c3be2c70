/* coll_neighbor.c with the nonblocking neighborhood collectives (MPI_Ineighbor_* + MPI_Wait),
 * plus outstanding ones completed in reverse order and the missing-topology error.
 * ranks: 1 2 3 4 8 */
#define NONBLOCKING
#include "coll_neighbor.c"
