package dev.etcdrescue.agent.oldmember;

/** A part of the old member's configuration etcd-rescue cannot read for sure: refused, never guessed. */
public final class LayoutException extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient Source source;

    public LayoutException(Source source, String message) {
        super(source + ": " + message);
        this.source = source;
    }

    public Source source() {
        return source;
    }
}
