/**
 * Generated bindings: jextract output for headers/fdkit.h. Do not edit; run bin/regenerate-bindings.
 * <p>
 * Only dev.fdkit.internal (the syscall layer) uses this package.
 * <ul>
 * <li>Command: {@code jextract @jextract.conf --output src/main/java headers/fdkit.h}, then
 *     {@code findOrThrow(x)} rewritten to {@code find(x).orElseThrow()} for --release 22</li>
 * <li>jextract: jextract 23 (openjdk/jextract, built from source), libclang 14.0.6</li>
 * <li>Architecture: x86_64</li>
 * <li>glibc headers: 2.36; kernel UAPI headers: 6.1.187, plus headers/fdkit_compat.h</li>
 * </ul>
 */
package dev.fdkit.internal.linux;
