// ranks: 2 3 4 5
/* inter_coll.c with every collective in its nonblocking form (MPI_Ibcast + MPI_Wait ...). */
#define NONBLOCKING
#include "inter_coll.c"
