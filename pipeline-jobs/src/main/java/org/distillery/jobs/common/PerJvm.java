package org.distillery.jobs.common;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * Frozen models on an executor JVM, by key (a teacher's SHA-256 and what else selects it): each is loaded once per
 * JVM, not per task or per batch. An instance that is thread-safe serves every task thread; one that is not gets a
 * copy per task thread. The caches of the image teachers (label's TeacherCache) and of the teacher LMs
 * ({@link TeacherLms}).
 *
 * @param <T> the model type
 */
public final class PerJvm<T> {
    private final Map<String, T> shared = new ConcurrentHashMap<>();
    private final ThreadLocal<Map<String, T>> perThread = ThreadLocal.withInitial(HashMap::new);
    private final Predicate<T> threadSafe;

    public PerJvm(Predicate<T> threadSafe) {
        this.threadSafe = threadSafe;
    }

    /** The JVM's instance of {@code key}, loaded by {@code load} the first time. */
    public T shared(String key, Supplier<T> load) {
        return shared.computeIfAbsent(key, k -> load.get());
    }

    /**
     * The instance for this task thread: the JVM's when it is thread-safe, else this thread's own, made once from the
     * JVM's by {@code ownCopy}.
     */
    public T forThisThread(String key, Supplier<T> load, UnaryOperator<T> ownCopy) {
        T one = shared(key, load);
        return threadSafe.test(one) ? one : ownedByThisThread(key, () -> ownCopy.apply(one));
    }

    /** This thread's own instance of {@code key}, made by {@code make} the first time, whatever the JVM's is. */
    public T ownedByThisThread(String key, Supplier<T> make) {
        return perThread.get().computeIfAbsent(key, k -> make.get());
    }

    /** The JVM's instance of {@code key}, or null when none is loaded. */
    public T peek(String key) {
        return shared.get(key);
    }

    /**
     * Makes {@code instance}, loaded elsewhere (e.g. by the driver's checks), the JVM's instance of {@code key} when it
     * is thread-safe and none is there yet; false when it was not kept, so the caller still owns it.
     */
    public boolean offer(String key, T instance) {
        return threadSafe.test(instance) && shared.putIfAbsent(key, instance) == null;
    }
}
