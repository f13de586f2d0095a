/** fdkit: Linux descriptor-based notifications (pidfd, eventfd, epoll, futex, io_uring) on the FFM API. */
module dev.fdkit {
    exports dev.fdkit;
    // Not exported: dev.fdkit.internal (the syscall layer), dev.fdkit.internal.linux (generated bindings) and
    // dev.fdkit.cli (the fdkit tool, a client of the exported package only). The tool ships in this module's jar
    // (one artifact, `java -jar fdkit.jar`), so the two optional modules that only the tool uses stay here:
    // `static`, so a library user's runtime needs neither.
    // Only the fdkit tool's thread report (dev.fdkit.cli) uses it, and does without it when it is not in the boot layer.
    requires static java.management;
    // Only fdkit run's signal handlers (dev.fdkit.cli) use it (sun.misc.Signal), and warn without it when it is not in the boot layer.
    requires static jdk.unsupported;
    // fdkit's Flight Recorder events (FdkitEvents): dev.fdkit.ProcessSpawned, ProcessExited, PollerStall, ...
    requires jdk.jfr;
}
