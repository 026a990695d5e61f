package dev.etcdrescue.agent.config;

import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A unit file the new member's unit is copied from, and the service user it names. */
public record BaseUnit(String name, Path path, String text) {
    private static final Pattern USER = Pattern.compile("(?m)^\\s*User\\s*=\\s*(\\S+)\\s*$");
    private static final Pattern GROUP = Pattern.compile("(?m)^\\s*Group\\s*=\\s*(\\S+)\\s*$");

    /** {@code User=} of the unit; systemd runs a unit without one as root. */
    public String serviceUser() {
        return last(USER).orElse("root");
    }

    public Optional<String> serviceGroup() {
        return last(GROUP);
    }

    private Optional<String> last(Pattern pattern) {
        Matcher m = pattern.matcher(text);
        String found = null;
        while (m.find()) {
            found = m.group(1);
        }
        return Optional.ofNullable(found);
    }
}
