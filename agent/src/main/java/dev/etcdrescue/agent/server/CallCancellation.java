package dev.etcdrescue.agent.server;

import dev.etcdrescue.agent.io.Cancellation;
import io.grpc.Context;

/** The running RPC's end (the client cancelled, or its deadline passed) as a {@link Cancellation}. */
final class CallCancellation {
    private CallCancellation() {
    }

    /** Call on the thread that serves the RPC: its gRPC context is the one watched. */
    static Cancellation current() {
        Context call = Context.current();
        return stop -> {
            Context.CancellationListener listener = ended -> stop.run();
            call.addListener(listener, Runnable::run);
            return () -> call.removeListener(listener);
        };
    }
}
