namespace KetamineCds.SmartApp.Launch;

/// <summary>What went wrong, as the plain error page names it. Each kind has its own wording and HTTP status (Pages/ErrorPage).</summary>
public enum SmartProblemKind
{
    /// <summary>The launch named no iss, or an iss that is not registered.</summary>
    UnknownIss,

    /// <summary>The EHR's SMART configuration could not be read or lacks what the app needs (PKCE S256, endpoints).</summary>
    DiscoveryFailed,

    /// <summary>The callback's state is unknown, already used, expired, or belongs to another browser.</summary>
    StateInvalid,

    /// <summary>The EHR's authorization server answered the callback with an error (the user cancelled, access denied).</summary>
    AuthorizationDenied,

    /// <summary>The token endpoint refused the code (wrong PKCE verifier, expired code, client authentication failed).</summary>
    TokenRefused,

    /// <summary>The token response named no patient.</summary>
    NoPatient,

    /// <summary>No session cookie, or a session that is not (or no longer) known.</summary>
    NoSession,

    /// <summary>The access token expired and could not be refreshed.</summary>
    SessionExpired,

    /// <summary>The FHIR server could not be read (down, timing out, refusing).</summary>
    FhirUnavailable,

    /// <summary>The patient has no current ketamine/esketamine course in the record.</summary>
    NoKetamine,

    /// <summary>The shared session store (Redis) did not answer: no launch can start or finish and no session be read.</summary>
    SessionStoreUnavailable,
}

/// <summary>A problem the endpoint turns into a plain page; <see cref="Detail"/> is safe to show (no token, no stack, no PHI).</summary>
public sealed class SmartProblemException : Exception
{
    public SmartProblemException()
    {
    }

    public SmartProblemException(string message)
        : base(message)
    {
    }

    public SmartProblemException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SmartProblemException(SmartProblemKind kind, string detail, Exception? inner = null)
        : base(detail, inner)
    {
        Kind = kind;
        Detail = detail;
    }

    public SmartProblemKind Kind { get; }

    public string Detail { get; } = "";
}
