/* Cost of a process switch by sched_yield: two processes pinned to CPU 0 hand a flag back and
 * forth, each yielding until it is its turn. Build: cc -O2 yield_handoff.c -o yield_handoff.
 * Used in docs/PERFORMANCE.md (Analysis, oversubscription floor). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <time.h>
#include <sys/wait.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){ volatile int *flag = mmap(0,4096,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS,-1,0); *flag=0;
 cpu_set_t s; CPU_ZERO(&s); CPU_SET(0,&s); sched_setaffinity(0,sizeof s,&s);
 int N=200000; if(fork()==0){ for(int i=0;i<N;i++){ while(*flag!=2*i+1) sched_yield(); *flag=2*i+2;} _exit(0);} 
 double t=now(); for(int i=0;i<N;i++){ *flag=2*i+1; while(*flag!=2*i+2) sched_yield(); } t=now()-t; wait(0);
 printf("yield handoff: %.2f us per switch\n", t/N/2*1e6); }
