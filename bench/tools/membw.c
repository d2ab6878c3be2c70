/* Copy bandwidth of memcpy with one thread and with two (each copying half): the ceiling for
 * moving bytes between two processes on this machine. Build: cc -O2 -pthread membw.c -o membw;
 * run: ./membw <bytes> (e.g. 16777216). Used in docs/PERFORMANCE.md (Analysis). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
size_t N; char *a,*b;
void *cp(void *arg){ long h=(long)arg; size_t half=N/2; for(int r=0;r<20;r++) memcpy(b+h*half, a+h*half, half); return 0;}
int main(int c,char**v){ N=(size_t)atol(v[1]); a=malloc(N); b=malloc(N); memset(a,1,N); memset(b,2,N);
 double t=now(); for(int r=0;r<20;r++) memcpy(b,a,N); double t1=now()-t;
 pthread_t th[2]; t=now(); for(long i=0;i<2;i++) pthread_create(&th[i],0,cp,(void*)i); for(int i=0;i<2;i++) pthread_join(th[i],0); double t2=now()-t;
 printf("%zu bytes: 1 thread %.1f GB/s, 2 threads %.1f GB/s\n", N, 20.0*N/t1/1e9, 20.0*N/t2/1e9); }
