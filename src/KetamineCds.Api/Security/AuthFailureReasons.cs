namespace KetamineCds.Api.Security;

/// <summary>
/// Why a call was refused, as logged (never sent to the caller, never with the token). Stable codes an operator can
/// alert on; docs/security.md lists them.
/// </summary>
public static class AuthFailureReasons
{
    public const string MissingToken = "missing-token";
    public const string Malformed = "malformed";
    public const string Encrypted = "encrypted-token";
    public const string UnknownIssuer = "unknown-issuer";
    public const string Algorithm = "algorithm-not-allowed";
    public const string MissingKid = "missing-kid";
    public const string JkuNotRegistered = "jku-not-registered";
    public const string EmbeddedKey = "embedded-key-header";
    public const string UnknownKid = "unknown-kid";
    public const string JwksUnavailable = "jwks-unavailable";
    public const string BadSignature = "bad-signature";
    public const string Expired = "expired";
    public const string NotYetValid = "not-yet-valid";
    public const string MissingExp = "missing-exp";
    public const string Audience = "audience";
    public const string MissingIat = "missing-iat";
    public const string IssuedInFuture = "iat-in-future";
    public const string Lifetime = "lifetime-too-long";
    public const string MissingJti = "missing-jti";
    public const string ReplayedJti = "replayed-jti";
    public const string Tenant = "tenant";
    public const string Invalid = "invalid-token";

    /// <summary>RFC 7515 section 4.1.11: <c>crit</c> is not a non-empty array of extension header names.</summary>
    public const string CritInvalid = "crit-invalid";

    /// <summary>RFC 7515 section 4.1.11: <c>crit</c> names an extension this service does not implement (it implements none).</summary>
    public const string CritNotUnderstood = "crit-not-understood";

    /// <summary>A <c>jti</c> longer than <see cref="CdsJwtBearerEvents.MaxJtiLength"/> (the replay store's memory is bounded by count).</summary>
    public const string JtiTooLong = "jti-too-long";

    internal const string ItemKey = "KetamineCds.AuthFailureReason";
}
