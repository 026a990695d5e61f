package dev.etcdrescue.agent.oldmember;

import java.util.ArrayList;
import java.util.List;

/**
 * How the old unit's {@code ExecStart=} runs etcd: directly, after {@code env NAME=value}, or in a
 * {@code sh -c} script, and with which arguments. {@link #withoutArguments} is the new unit's
 * {@code ExecStart=}: the same program and wrapper, with no etcd argument at all, so every setting
 * comes from the new env file.
 *
 * @param original the old {@code ExecStart=} value as written
 * @param wrapper  the words before etcd ({@code /usr/bin/env GOMAXPROCS=4}), or the shell and its options up to {@code -c}
 * @param script   for a shell wrapper, the script's leading assignments ({@code GOMAXPROCS=$(nproc)}); null otherwise
 * @param etcd     the etcd program as the command line names it
 * @param args     etcd's arguments, expanded
 */
public record Launch(String original, Source source, String prefix, List<String> wrapper, List<String> script, String etcd,
                     List<ExecLine.Word> args) {
    private static final java.util.regex.Pattern VARIABLE = java.util.regex.Pattern.compile("\\$\\{?[A-Za-z_]");

    public Launch {
        wrapper = List.copyOf(wrapper);
        script = script == null ? null : List.copyOf(script);
        args = List.copyOf(args);
    }

    public boolean shell() {
        return script != null;
    }

    /** The new unit's {@code ExecStart=} value. */
    public String withoutArguments() {
        if (shell()) {
            if (args.isEmpty() && !VARIABLE.matcher(original).find()) {
                return original;
            }
            List<String> words = new ArrayList<>(wrapper);
            List<String> inner = new ArrayList<>(script);
            inner.add(etcd);
            return prefix + String.join(" ", words.stream().map(ExecLine::quote).toList()) + " "
                    + ExecLine.quote(String.join(" ", inner));
        }
        List<String> words = new ArrayList<>(wrapper);
        words.add(etcd);
        return prefix + String.join(" ", words.stream().map(ExecLine::quote).toList());
    }
}
