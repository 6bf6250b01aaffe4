package dev.gemmaflink.e2e.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * CPU time of this JVM's threads over a round, grouped by thread name with numbers removed. Broker, Flink job and
 * engine all run in the bench's JVM, so this shows where a round's CPU went (on a 2-core machine, the pipeline's
 * own threads compete with the engine thread).
 */
final class ThreadCpu {

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final Map<Long, Long> startNanos = new HashMap<>();
    private final Map<Long, String> names = new HashMap<>();
    private final long wallStart = System.nanoTime();
    private final long[] procStart = procJiffies();
    private final long jitStartMs = jitMillis();
    private final long gcStartMs = gcMillis();

    private ThreadCpu() {
        for (ThreadInfo t : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (t != null) {
                startNanos.put(t.getThreadId(), THREADS.getThreadCpuTime(t.getThreadId()));
                names.put(t.getThreadId(), t.getThreadName());
            }
        }
    }

    /** Starts measuring; returns null where the JVM cannot measure thread CPU time. */
    static ThreadCpu start() {
        return THREADS.isThreadCpuTimeSupported() && THREADS.isThreadCpuTimeEnabled() ? new ThreadCpu() : null;
    }

    /**
     * The CPU seconds since {@link #start}, per thread group, the {@code top} busiest, plus {@code total} and
     * {@code wall}. Threads that ended during the round are not counted.
     */
    JsonLine stop(int top) {
        double wall = (System.nanoTime() - wallStart) / 1e9;
        Map<String, Double> byGroup = new HashMap<>();
        for (ThreadInfo t : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (t == null) {
                continue;
            }
            long now = THREADS.getThreadCpuTime(t.getThreadId());
            if (now < 0) {
                continue;
            }
            long before = startNanos.getOrDefault(t.getThreadId(), 0L);
            byGroup.merge(group(t.getThreadName()), (now - before) / 1e9, Double::sum);
        }
        double total = byGroup.values().stream().mapToDouble(Double::doubleValue).sum();
        Map<String, Double> busiest = byGroup.entrySet().stream()
                .sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(top)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, LinkedHashMap::new));
        StringBuilder sb = new StringBuilder();
        busiest.forEach((name, s) -> sb.append(sb.length() == 0 ? "" : "; ").append(name).append('=')
                .append(String.format(java.util.Locale.ROOT, "%.2f", s)));
        JsonLine out = new JsonLine().put("cpuSeconds", total).put("cpuWallSeconds", wall)
                .put("cpuByThread", sb.toString());
        // JIT compiler and GC threads are not Java threads: their time comes from the JVM's own counters.
        out.put("jitSeconds", (jitMillis() - jitStartMs) / 1e3).put("gcSeconds", (gcMillis() - gcStartMs) / 1e3);
        long[] procEnd = procJiffies();
        if (procStart != null && procEnd != null) {
            // Linux clock ticks are 1/100 s; what the machine spent outside this JVM is the other helpers' load.
            double machine = (procEnd[0] - procStart[0]) / 100.0;
            double self = (procEnd[1] - procStart[1]) / 100.0;
            out.put("machineBusyCores", machine / wall).put("otherProcessesCores", Math.max(0, machine - self) / wall);
        }
        return out;
    }

    private static long jitMillis() {
        java.lang.management.CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
    }

    private static long gcMillis() {
        long total = 0;
        for (java.lang.management.GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            total += Math.max(0, gc.getCollectionTime());
        }
        return total;
    }

    /** Busy jiffies of the whole machine and of this process, or null off Linux. */
    private static long[] procJiffies() {
        try {
            String[] cpu = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/stat")).get(0).trim()
                    .split("\\s+");
            long busy = 0;
            // user nice system idle iowait irq softirq steal: all but idle and iowait.
            for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
                busy += Long.parseLong(cpu[i]);
            }
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // Fields after the command: state is index 0, utime 11, stime 12.
            return new long[] {busy, Long.parseLong(f[11]) + Long.parseLong(f[12])};
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    private static String group(String name) {
        return name.replaceAll("[0-9]+", "#").replaceAll("\\(#/#\\)#?", "").replace(';', ',').trim();
    }
}
