package dev.etcdrescue.agent.oldmember;

import java.util.Locale;

/**
 * One setting of the old member under its environment name ({@code ETCD_QUOTA_BACKEND_BYTES}), the
 * way it was given ({@code --quota-backend-bytes}, {@code quota-backend-bytes:} in the config file, or
 * the variable itself) and where.
 */
public record Setting(String env, String value, String givenAs, Source source) {
    /** etcd's own mapping from a flag name to its variable (pkg/flags: {@code ETCD_} + upper case, '-' to '_'). */
    public static String envName(String flag) {
        return "ETCD_" + flag.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    /** {@code FILE:LINE} for a variable, {@code --flag at FILE:LINE} or {@code key: at FILE:LINE} for the others. */
    public String describe() {
        return givenAs.equals(env) ? source.toString() : givenAs + " at " + source;
    }
}
