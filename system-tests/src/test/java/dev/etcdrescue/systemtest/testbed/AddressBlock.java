package dev.etcdrescue.systemtest.testbed;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A 127.X.Y.0/24 block for one run, so two runs on one machine (or a leftover process) never share
 * an address. Host N (from 1) is 127.X.Y.N.
 */
public record AddressBlock(int x, int y) {
    /** Every port a host may serve: old cluster, restored cluster, agent. */
    public static final List<Integer> HOST_PORTS = List.of(2379, 2380, 22379, 22380, 32379, 7443);
    private static final int CONNECT_TIMEOUT_MILLIS = 200;

    public String address(int hostNumber) {
        if (hostNumber < 1 || hostNumber > 254) {
            throw new IllegalArgumentException("host number must lie in 1..254: " + hostNumber);
        }
        return "127." + x + "." + y + "." + hostNumber;
    }

    @Override
    public String toString() {
        return "127." + x + "." + y + ".0/24";
    }

    /** A random block (X and Y in 100..250) where nothing listens on any host port of hosts 1..hosts. */
    static AddressBlock pickFree(int hosts) {
        for (int attempt = 0; attempt < 50; attempt++) {
            AddressBlock block = new AddressBlock(ThreadLocalRandom.current().nextInt(100, 251),
                    ThreadLocalRandom.current().nextInt(100, 251));
            if (block.isFree(hosts)) {
                return block;
            }
        }
        throw new IllegalStateException("no free 127.X.Y.0/24 block found in 50 attempts");
    }

    private boolean isFree(int hosts) {
        for (int host = 1; host <= hosts; host++) {
            for (int port : HOST_PORTS) {
                if (listening(address(host), port)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean listening(String address, int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(address, port), CONNECT_TIMEOUT_MILLIS);
            return true;
        } catch (IOException refused) {
            return false;
        }
    }
}
