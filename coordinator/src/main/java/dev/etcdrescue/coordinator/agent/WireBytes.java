package dev.etcdrescue.coordinator.agent;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientStreamTracer;
import io.grpc.MethodDescriptor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of every message the coordinator sends to and receives from agents, as gRPC puts them on
 * the wire (after compression; HTTP/2 and TLS framing add a little), counted on every channel
 * {@link AgentChannels} opens: the report's measure of what the coordinator carried.
 */
public final class WireBytes {
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong received = new AtomicLong();

    public long sent() {
        return sent.get();
    }

    public long received() {
        return received.get();
    }

    /** Bytes sent outside gRPC (the data channel's payload; its TLS framing adds a little). */
    void addSent(long bytes) {
        sent.addAndGet(bytes);
    }

    ClientInterceptor interceptor() {
        ClientStreamTracer.Factory factory = new ClientStreamTracer.Factory() {
            @Override
            public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, io.grpc.Metadata headers) {
                return new ClientStreamTracer() {
                    @Override
                    public void outboundWireSize(long bytes) {
                        sent.addAndGet(bytes);
                    }

                    @Override
                    public void inboundWireSize(long bytes) {
                        received.addAndGet(bytes);
                    }
                };
            }
        };
        return new ClientInterceptor() {
            @Override
            public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
                return next.newCall(method, options.withStreamTracerFactory(factory));
            }
        };
    }
}
