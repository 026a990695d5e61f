package dev.etcdrescue.agent.server;

import dev.etcdrescue.pki.DataChannelWire;
import dev.etcdrescue.pki.TlsStream;
import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * While a data channel's last chunk is checked (SHA-256, fsync, the restore tool's status, a relay's next
 * hop) and until the answer is written, the sender hears {@link DataChannelWire#REPLY_WORKING} every
 * {@link DataChannelWire#WORKING_EVERY_SECONDS}: its idle limit is for a peer gone silent, and a 1.6 GB
 * file's checks on a busy disk outlast it. The session thread does not touch the stream meanwhile; it
 * closes the beat, which waits for a write in progress, before it writes the answer.
 */
final class WorkingBeat implements AutoCloseable {
    private static final ScheduledExecutorService BEATS = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "data-channel-working");
        t.setDaemon(true);
        return t;
    });
    private final TlsStream stream;
    private final ScheduledFuture<?> beat;
    private boolean over;

    private WorkingBeat(TlsStream stream) {
        this.stream = stream;
        long every = DataChannelWire.WORKING_EVERY_SECONDS;
        this.beat = BEATS.scheduleAtFixedRate(this::beat, every, every, TimeUnit.SECONDS);
    }

    static WorkingBeat start(TlsStream stream) {
        return new WorkingBeat(stream);
    }

    private synchronized void beat() {
        if (over) {
            return;
        }
        try {
            DataChannelWire.writeWorking(stream);
        } catch (IOException gone) {
            // The sender went away: the answer's own write finds out and says so.
            over = true;
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            over = true;
        }
        beat.cancel(false);
    }
}
