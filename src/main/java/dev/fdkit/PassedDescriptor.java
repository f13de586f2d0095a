package dev.fdkit;

/** {@link SpawnOption#passDescriptor(int, int)}: our {@code parentFd} becomes the child's {@code childFd}. */
record PassedDescriptor(int parentFd, int childFd) implements SpawnOption {
    @Override
    public String toString() {
        return "passDescriptor(" + parentFd + " as " + childFd + ")";
    }
}
