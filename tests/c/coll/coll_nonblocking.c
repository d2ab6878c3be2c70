/* coll_blocking.c with every collective in its nonblocking form (MPI_Ibcast + MPI_Wait ...).
 * ranks: 1 2 3 4 8 */
#define NONBLOCKING
#include "coll_blocking.c"
