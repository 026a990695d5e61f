package dev.etcdrescue.agent.server;

import dev.etcdrescue.proto.v1.AgentStatus;
import dev.etcdrescue.proto.v1.Phase;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * What the agent is doing now (phase, operation, bytes, last result). GetStatus reads it;
 * WatchStatus listeners get a copy on every change.
 */
public final class StatusTracker {
    private final Clock clock;
    private final List<Consumer<AgentStatus>> listeners = new CopyOnWriteArrayList<>();
    private AgentStatus current;

    public StatusTracker(Clock clock) {
        this.clock = clock;
        this.current = AgentStatus.newBuilder().setPhase(Phase.IDLE).setLastResult("agent started")
                .setUpdatedUnixMs(clock.millis()).build();
    }

    public synchronized AgentStatus snapshot() {
        return current;
    }

    public void phase(Phase phase, String operationId, String lastResult) {
        update(b -> b.setPhase(phase).setOperationId(operationId).setLastResult(lastResult));
    }

    public void bytes(String operationId, long received, long expected) {
        update(b -> b.setOperationId(operationId).setBytesReceived(received).setBytesExpected(expected));
    }

    public void addListener(Consumer<AgentStatus> listener) {
        listeners.add(listener);
    }

    public void removeListener(Consumer<AgentStatus> listener) {
        listeners.remove(listener);
    }

    public int listenerCount() {
        return listeners.size();
    }

    private void update(Consumer<AgentStatus.Builder> change) {
        AgentStatus next;
        synchronized (this) {
            AgentStatus.Builder builder = current.toBuilder();
            change.accept(builder);
            next = builder.setUpdatedUnixMs(clock.millis()).build();
            current = next;
        }
        for (Consumer<AgentStatus> listener : listeners) {
            listener.accept(next);
        }
    }
}
