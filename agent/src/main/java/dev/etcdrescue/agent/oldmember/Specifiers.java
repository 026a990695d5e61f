package dev.etcdrescue.agent.oldmember;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * systemd's %-specifiers that a unit's own name and this host decide ({@code %n %N %p %i %I %H %m %%});
 * others depend on the manager's state and are not guessed.
 */
public record Specifiers(String unitFile, String hostName, String machineId) {
    /** This host's values, as its systemd sees them (the UTS namespace's host name, /etc/machine-id). */
    public static Specifiers forHost(String unitFile) {
        return new Specifiers(unitFile, firstLine(Path.of("/proc/sys/kernel/hostname")), firstLine(Path.of("/etc/machine-id")));
    }

    private static String firstLine(Path file) {
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            return "";
        }
    }

    public Optional<String> resolve(String value) {
        String full = unitFile.endsWith(".service") ? unitFile : unitFile + ".service";
        String bare = full.substring(0, full.length() - ".service".length());
        int at = bare.indexOf('@');
        String prefix = at < 0 ? bare : bare.substring(0, at);
        String instance = at < 0 ? "" : bare.substring(at + 1);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            if (++i == value.length()) {
                return Optional.empty();
            }
            String resolved = switch (value.charAt(i)) {
                case 'n' -> full;
                case 'N' -> bare;
                case 'p' -> prefix;
                case 'i', 'I' -> instance;
                case 'H' -> hostName;
                case 'm' -> machineId;
                case '%' -> "%";
                default -> null;
            };
            if (resolved == null) {
                return Optional.empty();
            }
            out.append(resolved);
        }
        return Optional.of(out.toString());
    }
}
