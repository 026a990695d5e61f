package dev.etcdrescue.agent.io;

/**
 * Ends a waiting child early when whoever asked for it gives up: a blocking {@code systemctl start}
 * holds the agent's mutation lock, so a cancelled or timed-out RPC must not leave it waiting.
 */
@FunctionalInterface
public interface Cancellation {
    /** Nothing ever cancels: the child runs until it ends or its own timeout. */
    Cancellation NONE = stop -> () -> { };

    /**
     * Runs {@code stop} once if cancelled (at once if already cancelled); returns what unregisters it,
     * called when the child has ended.
     */
    Runnable whenCancelled(Runnable stop);
}
