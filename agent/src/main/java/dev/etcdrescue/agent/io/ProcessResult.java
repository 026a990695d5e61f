package dev.etcdrescue.agent.io;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/** What a finished (or timed-out) child process left behind. */
public record ProcessResult(List<String> argv, int exitCode, String stdout, String stderr,
                            boolean timedOut, Duration took) {

    public boolean succeeded() {
        return !timedOut && exitCode == 0;
    }

    /** The last lines of stderr (or stdout when stderr is empty): what an operator needs to see. */
    public String tail(int lines) {
        String text = stderr.isBlank() ? stdout : stderr;
        List<String> all = Arrays.stream(text.split("\n")).map(String::strip).filter(s -> !s.isEmpty()).toList();
        return String.join(" | ", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    /** One sentence describing a failure, naming the command and its exit. */
    public String failureSummary() {
        String how = timedOut ? "timed out after " + took.toSeconds() + " s" : "exited with " + exitCode;
        String tail = errorsFirst(tail(5));
        return String.join(" ", argv.subList(0, Math.min(3, argv.size()))) + " " + how
                + (tail.isEmpty() ? "" : ": " + tail);
    }

    /**
     * etcdctl and etcdutl log long JSON info lines before the one that matters ("Error: ... no space
     * left on device"): that one goes first, so it is what a one-line report shows.
     */
    static String errorsFirst(String joinedTail) {
        List<String> lines = Arrays.asList(joinedTail.split(" \\| "));
        List<String> errors = lines.stream().filter(l -> l.regionMatches(true, 0, "error", 0, 5)).toList();
        if (errors.isEmpty()) {
            return joinedTail;
        }
        List<String> rest = lines.stream().filter(l -> !errors.contains(l)).toList();
        return String.join(" | ", java.util.stream.Stream.concat(errors.stream(), rest.stream()).toList());
    }
}
