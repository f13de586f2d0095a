/** fdkit: Linux descriptor-based notifications (pidfd, eventfd, epoll, futex, io_uring) on the FFM API. */
module dev.fdkit {
    exports dev.fdkit;
    // Only the fdkit tool's thread report uses it, and does without it when it is not in the boot layer.
    requires static java.management;
    // Only fdkit run's signal handlers use it (sun.misc.Signal), and warn without it when it is not in the boot layer.
    requires static jdk.unsupported;
    // fdkit's Flight Recorder events (FdkitEvents): dev.fdkit.ProcessSpawned, ProcessExited, PollerStall, ...
    requires jdk.jfr;
}
