package dev.etcdrescue.agent.oldmember;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One unit file (the unit itself or a drop-in) as systemd reads it: logical lines (a trailing
 * backslash continues a line, and is read as a blank), {@code #} and {@code ;} comments,
 * {@code [Section]} headers and {@code Key=Value} directives, each with the line it starts on.
 *
 * @param runtime a file under /run: it is gone at the next boot, so a new unit does not carry it
 */
public record UnitFile(Path path, List<Line> lines, boolean runtime) {
    /** A logical line: its raw text (physical lines joined with '\n'), and for a directive its section, key and value. */
    public record Line(String raw, int number, String section, String key, String value) {
        public boolean isDirective() {
            return key != null;
        }

        public Source source(Path file) {
            return new Source(file, number);
        }
    }

    public UnitFile {
        lines = List.copyOf(lines);
    }

    public static UnitFile parse(Path path, String text, boolean runtime) {
        List<Line> lines = new ArrayList<>();
        String[] physical = text.split("\n", -1);
        String section = null;
        for (int i = 0; i < physical.length; i++) {
            int start = i;
            String first = physical[i].strip();
            if (first.startsWith("#") || first.startsWith(";") || first.isEmpty()) {
                lines.add(new Line(physical[i], start + 1, section, null, null));
                continue;
            }
            StringBuilder raw = new StringBuilder(physical[i]);
            StringBuilder logical = new StringBuilder(stripped(physical[i]));
            while (continues(physical[i]) && i + 1 < physical.length) {
                i++;
                raw.append('\n').append(physical[i]);
                String next = physical[i].strip();
                // systemd skips comment lines inside a continued line.
                if (!next.startsWith("#") && !next.startsWith(";")) {
                    logical.append(' ').append(stripped(physical[i]));
                }
            }
            String text1 = logical.toString().strip();
            if (text1.startsWith("[") && text1.endsWith("]")) {
                section = text1.substring(1, text1.length() - 1);
                lines.add(new Line(raw.toString(), start + 1, section, null, null));
                continue;
            }
            int eq = text1.indexOf('=');
            if (eq <= 0) {
                lines.add(new Line(raw.toString(), start + 1, section, null, null));
                continue;
            }
            lines.add(new Line(raw.toString(), start + 1, section, text1.substring(0, eq).strip(),
                    text1.substring(eq + 1).strip()));
        }
        return new UnitFile(path, lines, runtime);
    }

    /** The directives of one section, in file order. */
    public List<Line> directives(String section) {
        return lines.stream().filter(l -> l.isDirective() && section.equals(l.section())).toList();
    }

    public Optional<Line> first(String section, String key) {
        return directives(section).stream().filter(l -> l.key().equals(key)).findFirst();
    }

    public String text() {
        return String.join("\n", lines.stream().map(Line::raw).toList());
    }

    private static boolean continues(String line) {
        String s = line.stripTrailing();
        return s.endsWith("\\") && !s.endsWith("\\\\");
    }

    private static String stripped(String line) {
        String s = line.stripTrailing();
        return continues(line) ? s.substring(0, s.length() - 1) : s;
    }
}
