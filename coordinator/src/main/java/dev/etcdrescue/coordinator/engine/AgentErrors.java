package dev.etcdrescue.coordinator.engine;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** Turns an agent call's failure into a sentence that says what to do. */
final class AgentErrors {
    private AgentErrors() {}

    /** The deepest TLS or certificate message: "No subject alternative names matching IP address ..." says what is wrong. */
    private static java.util.Optional<String> tlsCause(Throwable t) {
        String found = null;
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            if ((c instanceof javax.net.ssl.SSLException || c instanceof java.security.cert.CertificateException) && c.getMessage() != null) {
                found = c.getMessage();
            }
        }
        return java.util.Optional.ofNullable(found);
    }

    /**
     * gRPC's words for a connection that was up and then went away: the certificate and address were
     * fine, so the connection-time hint would send the operator the wrong way.
     */
    private static boolean lostMidCall(String detail) {
        return detail.startsWith("Network closed") || detail.startsWith("Connection closed") || detail.contains("GOAWAY")
                || detail.contains("RST_STREAM");
    }

    static String describe(Throwable t, String agent) {
        Throwable c = t;
        while (!(c instanceof StatusRuntimeException) && c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        if (!(c instanceof StatusRuntimeException sre)) {
            return t.getMessage() == null ? t.toString() : t.getMessage();
        }
        Status s = sre.getStatus();
        String detail = s.getDescription() == null ? "" : s.getDescription().lines().findFirst().orElse("");
        if (s.getCode() == Status.Code.UNAVAILABLE) {
            detail = tlsCause(sre).orElse(detail);
        }
        if (s.getCode() == Status.Code.UNAVAILABLE && lostMidCall(detail)) {
            return "connection to agent " + agent + " lost during the call (" + detail + "): the agent may have restarted"
                    + " (journalctl -u etcd-rescue-agent on that host); resume repeats the step safely";
        }
        return switch (s.getCode()) {
            case UNAVAILABLE -> "agent " + agent + " unreachable (" + detail
                    + "): is etcd-rescue-agent running there, does its certificate name this address, and is it from the fleet CA?";
            case DEADLINE_EXCEEDED -> "agent " + agent + " did not answer in time (" + detail + ")";
            case PERMISSION_DENIED, UNAUTHENTICATED -> "agent " + agent + " refused this coordinator: " + detail;
            default -> detail.isEmpty() ? s.getCode().toString() : detail;
        };
    }
}
