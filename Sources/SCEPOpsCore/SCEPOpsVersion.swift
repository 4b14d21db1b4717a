/// The version plan files, the history and the API name.
public enum SCEPOpsVersion {
    public static let current = "0.1.0"
}
