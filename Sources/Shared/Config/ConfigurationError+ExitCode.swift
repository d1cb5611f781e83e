extension ConfigurationError {
    /// sysexits.h `EX_CONFIG` (78), "Something was found in an unconfigured or misconfigured
    /// state": the exit status of every Gatehouse command that stops on a `ConfigurationError`,
    /// so scripts and supervisors can tell a wrong environment from a failing database.
    public static let exitCode: Int32 = 78
}
