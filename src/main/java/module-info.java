/** fdkit: Linux descriptor-based notifications (pidfd, eventfd, epoll, futex, io_uring) on the FFM API. */
module dev.fdkit {
    exports dev.fdkit;
}
