package dev.etcdrescue.coordinator.inventory;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import java.util.List;

/** The inventory cannot be used; the message lists every problem found, one per line. */
public final class InventoryException extends UserException {
    private final List<String> problems;

    public InventoryException(String summary, List<String> problems) {
        super(FailureKind.BAD_INPUT, summary + (problems.isEmpty() ? "" : ":\n  " + String.join("\n  ", problems)));
        this.problems = List.copyOf(problems);
    }

    /** Each problem on its own, starting with {@code file:line:} where a line is known. */
    public List<String> problems() {
        return problems;
    }
}
