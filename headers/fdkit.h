/*
 * The one header fdkit's bindings are generated from (see jextract.conf and bin/regenerate-bindings).
 * System headers first; then headers/fdkit_compat.h adds the UAPI definitions that are newer than the
 * kernel headers installed on the build machine. Do not include <linux/pidfd.h> as well as
 * <sys/pidfd.h>: together they redefine the fcntl constants and jextract stops.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <string.h>
#include <signal.h>
#include <spawn.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <time.h>

#include "fdkit_compat.h"
