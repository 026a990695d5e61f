package dev.etcdrescue.agent.preflight;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PortHoldersTest {
    private final long self = ProcessHandle.current().pid();

    @Test
    void findsThisProcessListeningOnALoopbackAddress() throws Exception {
        InetAddress address = InetAddress.getByName("127.0.0.1");
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress(address, 0));
            List<Long> holders = PortHolders.system().holders(address, socket.getLocalPort());
            assertEquals(List.of(self), holders);
            assertTrue(PortHolders.system().sameUnit(holders.get(0), self));
            var listeners = PortHolders.system().listeners(address, socket.getLocalPort());
            assertEquals(1, listeners.size());
            assertTrue(PortHolders.system().ownedBy(listeners, self));
        }
    }

    @Test
    void aClosedPortHasNoHolder() throws Exception {
        InetAddress address = InetAddress.getByName("127.0.0.1");
        int port;
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress(address, 0));
            port = socket.getLocalPort();
        }
        assertEquals(List.of(), PortHolders.system().holders(address, port));
    }

    @Test
    void anotherAddressOnTheSamePortIsNotAHolder() throws Exception {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            assertEquals(List.of(), PortHolders.system().holders(InetAddress.getByName("127.0.0.2"), socket.getLocalPort()));
        }
    }

    @Test
    void readsTheKernelsLittleEndianWords() {
        assertArrayEquals(new byte[] {127, 0, 0, 1}, PortHolders.kernelAddress("0100007F"));
        byte[] v6 = PortHolders.kernelAddress("0000000000000000FFFF00000100007F");
        assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 127, 0, 0, 1}, v6);
    }

    @Test
    void matchesListeningEntriesOnlyAndTheWildcard(@TempDir Path dir) throws Exception {
        Path table = dir.resolve("tcp");
        Files.writeString(table, String.join("\n",
                "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
                "   0: 0500A87F:094B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0",
                "   1: 0500A87F:094B 0600A87F:D431 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 20 4 30 10 -1",
                "   2: 00000000:094C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0 100 0 0 10 0",
                ""));
        InetAddress host = InetAddress.getByName("127.168.0.5");
        assertEquals(List.of(new PortHolders.Listener("111", 0)), PortHolders.listening(table, host, 2379));
        assertEquals(List.of(new PortHolders.Listener("333", 0)), PortHolders.listening(table, host, 2380));
        assertEquals(List.of(), PortHolders.listening(table, InetAddress.getByName("127.168.0.6"), 2379));
    }
}
