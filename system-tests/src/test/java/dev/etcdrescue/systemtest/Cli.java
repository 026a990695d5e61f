package dev.etcdrescue.systemtest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs the packaged {@code deploy/bin/etcd-rescue} as an operator would, capturing its output. */
final class Cli {
    record Result(int exitCode, String stdout, String stderr) {
        String all() {
            return stdout + "\n" + stderr;
        }
    }

    static Path projectRoot() {
        return Path.of(System.getProperty("etcdrescue.projectRoot", "..")).toAbsolutePath().normalize();
    }

    static Result etcdRescue(String... args) throws IOException, InterruptedException {
        return etcdRescueWith(java.util.Map.of(), args);
    }

    /** The same with {@code env} added to the inherited environment (a failpoint, for instance). */
    static Result etcdRescueWith(java.util.Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>();
        argv.add(projectRoot().resolve("deploy/bin/etcd-rescue").toString());
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().putAll(env);
        Process p = pb.start();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("etcd-rescue " + String.join(" ", args) + " did not end within 10 minutes");
        }
        Result r = new Result(p.exitValue(), out.join(), err.join());
        System.out.println("$ etcd-rescue " + String.join(" ", args) + "  -> exit " + r.exitCode());
        System.out.println(r.stdout());
        System.out.println(r.stderr());
        return r;
    }

    /**
     * Starts etcd-rescue and SIGKILLs it as soon as a line of its output matches {@code killAt}, as a
     * crash or an operator's kill -9 would; returns the output up to then. Fails if it ends first.
     */
    static String killWhen(java.util.regex.Pattern killAt, String... args) throws IOException, InterruptedException {
        return killWhen(killAt, java.time.Duration.ZERO, args);
    }

    /** The same, {@code after} the matching line: for a kill while the call that line announces is under way. */
    static String killWhen(java.util.regex.Pattern killAt, java.time.Duration after, String... args)
            throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>();
        argv.add(projectRoot().resolve("deploy/bin/etcd-rescue").toString());
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        StringBuilder seen = new StringBuilder();
        try (var reader = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                seen.append(line).append('\n');
                if (killAt.matcher(line).find()) {
                    Thread.sleep(after.toMillis());
                    p.destroyForcibly();
                    p.waitFor(30, TimeUnit.SECONDS);
                    System.out.println("$ etcd-rescue " + String.join(" ", args) + "  -> SIGKILL at: " + line + "\n" + seen);
                    return seen.toString();
                }
            }
        } finally {
            p.destroyForcibly();
        }
        throw new IllegalStateException("etcd-rescue ended (exit " + p.waitFor() + ") before printing a line matching " + killAt + ":\n" + seen);
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "<unreadable: " + e + ">";
        }
    }

    private Cli() {}
}
