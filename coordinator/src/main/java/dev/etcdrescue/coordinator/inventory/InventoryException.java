package dev.etcdrescue.coordinator.inventory;

import dev.etcdrescue.coordinator.UserException;
import dev.etcdrescue.coordinator.cli.ExitCodes;
import java.util.List;

/** The inventory cannot be used; the message lists every problem found, one per line. */
public final class InventoryException extends UserException {
    private final List<String> problems;

    public InventoryException(String summary, List<String> problems) {
        super(ExitCodes.USAGE, summary + (problems.isEmpty() ? "" : ":\n  " + String.join("\n  ", problems)));
        this.problems = List.copyOf(problems);
    }

    /** Each problem on its own, starting with {@code file:line:} where a line is known. */
    public List<String> problems() {
        return problems;
    }
}
