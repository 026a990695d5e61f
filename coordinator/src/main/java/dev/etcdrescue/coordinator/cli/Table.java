package dev.etcdrescue.coordinator.cli;

import java.io.PrintStream;
import java.util.List;

/** A boxed table, as etcdctl's {@code -w table} prints one: centred headers, cells left-aligned. */
final class Table {
    private Table() {}

    static void print(PrintStream out, List<String> header, List<List<String>> cells) {
        int[] width = new int[header.size()];
        for (int c = 0; c < width.length; c++) {
            width[c] = header.get(c).length();
            for (List<String> row : cells) {
                width[c] = Math.max(width[c], row.get(c).length());
            }
        }
        String rule = rule(width);
        out.println(rule);
        StringBuilder head = new StringBuilder("|");
        for (int c = 0; c < width.length; c++) {
            int pad = width[c] - header.get(c).length();
            head.append(' ').append(" ".repeat(pad / 2)).append(header.get(c)).append(" ".repeat(pad - pad / 2)).append(" |");
        }
        out.println(head);
        out.println(rule);
        for (List<String> row : cells) {
            StringBuilder line = new StringBuilder("|");
            for (int c = 0; c < width.length; c++) {
                line.append(' ').append(row.get(c)).append(" ".repeat(width[c] - row.get(c).length())).append(" |");
            }
            out.println(line);
        }
        out.println(rule);
    }

    private static String rule(int[] width) {
        StringBuilder rule = new StringBuilder("+");
        for (int w : width) {
            rule.append("-".repeat(w + 2)).append('+');
        }
        return rule.toString();
    }
}
