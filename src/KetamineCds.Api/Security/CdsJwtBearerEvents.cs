using KetamineCds.Api.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Api.Security;

/// <summary>
/// The CDS Hooks 2.0 "Trusting CDS Clients" checks around JwtBearer.
/// <list type="number">
/// <item>Pre-flight (<see cref="MessageReceived"/>): read the token unvalidated and check alg, iss, kid and jku against
/// the allow-list before any network I/O; only then make sure the issuer's key for that kid is cached (an awaited,
/// throttled fetch from the issuer's registered JWKS URL).</item>
/// <item>JwtBearer validates signature (keys bound to the claimed issuer), issuer, audience set, exp/nbf.</item>
/// <item>After the signature (<see cref="TokenValidated"/>): the exact aud of the invoked endpoint, iat and lifetime cap,
/// tenant, and the jti's presence and length. The jti is NOT remembered here: <see cref="CdsAdmissionMiddleware"/> does
/// that after the per-issuer rate limit, so a flood is throttled before it can fill the replay store (issue 8 item 5);
/// nothing unauthenticated reaches either.</item>
/// </list>
/// Every refusal is a 401 with a generic OperationOutcome; the reason code goes to the log only.
/// </summary>
public sealed partial class CdsJwtBearerEvents(
    ITrustedClientRegistry registry,
    JwksCache keys,
    IOptions<CdsSecurityOptions> options,
    TimeProvider time,
    ILogger<CdsJwtBearerEvents> logger) : JwtBearerEvents
{
    /// <summary>Longer than any real CDS client JWT; longer ones are refused unread.</summary>
    private const int MaxTokenLength = 16 * 1024;

    /// <summary>
    /// Longest accepted <c>jti</c>. Real clients send a UUID (36 characters); the cap keeps every replay-store entry
    /// small, so the store's memory is bounded by its entry count (<see cref="InMemoryJtiReplayStore.Capacity"/>).
    /// </summary>
    public const int MaxJtiLength = 256;

    /// <summary>
    /// The JWS extension header parameters this service implements and so may accept in <c>crit</c>: none (RFC 7515
    /// section 4.1.11: a recipient that does not understand a listed extension must reject the JWS; RFC 7797's
    /// <c>b64</c> is the one extension in common use and is not implemented).
    /// </summary>
    private static readonly HashSet<string> UnderstoodCriticalHeaders = new(StringComparer.Ordinal);

    /// <summary>Header parameters RFC 7515/7516 define; <c>crit</c> must not list them (section 4.1.11).</summary>
    private static readonly HashSet<string> RegisteredHeaders = new(StringComparer.Ordinal)
    {
        "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "enc", "zip",
    };

    public override async Task MessageReceived(MessageReceivedContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string? authorization = context.Request.Headers.Authorization;
        if (string.IsNullOrEmpty(authorization) || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            context.HttpContext.Items[AuthFailureReasons.ItemKey] = AuthFailureReasons.MissingToken;
            context.NoResult();
            return;
        }

        var token = authorization["Bearer ".Length..].Trim();
        var (reason, parsed) = await PreflightAsync(token, context.HttpContext.RequestAborted);
        if (reason is not null)
        {
            Fail(context, reason);
            return;
        }

        // JwtBearer validates this same string next; its handler takes this parse rather than parsing it again.
        PreparsedTokenHandler.Hold(token, parsed!);
        context.Token = token;
    }

    private async ValueTask<(string? Reason, JsonWebToken? Parsed)> PreflightAsync(string token, CancellationToken cancellationToken)
    {
        if (Parse(token) is not { } jwt)
        {
            return (AuthFailureReasons.Malformed, null);
        }

        if (CheckBeforeKeyLookup(jwt, out var client) is { } reason)
        {
            return (reason, null);
        }

        return await keys.EnsureKeyAsync(client!, jwt.Kid, cancellationToken) switch
        {
            JwksCache.KeyLookup.Found => (null, jwt),
            JwksCache.KeyLookup.JwksUnavailable => (AuthFailureReasons.JwksUnavailable, null),
            _ => (AuthFailureReasons.UnknownKid, null),
        };
    }

    private static JsonWebToken? Parse(string token)
    {
        try
        {
            return token.Length > MaxTokenLength ? null : new JsonWebToken(token);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenMalformedException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>The pre-flight's checks before any network I/O: header (encryption, crit, embedded keys, jku), issuer, alg, kid.</summary>
    private string? CheckBeforeKeyLookup(JsonWebToken jwt, out TrustedClient? client)
    {
        client = null;
        if (jwt.IsEncrypted)
        {
            return AuthFailureReasons.Encrypted;
        }

        if (CriticalHeaderProblem(jwt.EncodedHeader) is { } critical)
        {
            return critical;
        }

        string? issuer;
        try
        {
            issuer = jwt.Issuer;
        }
        catch (ArgumentException)
        {
            return AuthFailureReasons.Malformed;
        }

        client = string.IsNullOrEmpty(issuer) ? null : registry.Find(issuer);
        if (client is null)
        {
            return AuthFailureReasons.UnknownIssuer;
        }

        if (!ContainsOrdinal(client.Algorithms, jwt.Alg))
        {
            return AuthFailureReasons.Algorithm;
        }

        if (string.IsNullOrEmpty(jwt.Kid))
        {
            return AuthFailureReasons.MissingKid;
        }

        // Keys come only from configuration and the registered JWKS URL: a token may not point at, or carry, its own key.
        if (jwt.TryGetHeaderValue<string>("jwk", out _) || jwt.TryGetHeaderValue<object>("jwk", out _)
            || jwt.TryGetHeaderValue<string>("x5u", out _) || jwt.TryGetHeaderValue<object>("x5c", out _))
        {
            return AuthFailureReasons.EmbeddedKey;
        }

        if (jwt.TryGetHeaderValue<string>("jku", out var jku) && !IsRegisteredJwksUrl(jku, client))
        {
            return AuthFailureReasons.JkuNotRegistered;
        }

        return null;
    }

    /// <summary>
    /// RFC 7515 section 4.1.11: when present, <c>crit</c> is a non-empty array of distinct strings, each an extension
    /// header that is present and that the recipient understands; otherwise the JWS is invalid. Read from the raw
    /// header, since JsonWebToken does not check it.
    /// </summary>
    internal static string? CriticalHeaderProblem(string encodedHeader)
    {
        ArgumentNullException.ThrowIfNull(encodedHeader);
        // Almost every header has no crit: prove that with a reader over a stack buffer (escaped member names are
        // compared unescaped), and take the full check below only when it cannot.
        return HasNoCriticalMember(encodedHeader) ? null : FullCriticalHeaderCheck(encodedHeader);
    }

    /// <summary>
    /// True only when the header decodes to one JSON object, with nothing after it, none of whose top-level members is
    /// named <c>crit</c>. Anything else (a crit, an oddity, an error) answers false, and the full check decides exactly
    /// as it always has.
    /// </summary>
    private static bool HasNoCriticalMember(string encodedHeader)
    {
        const int StackLimit = 1024;
        var maxLength = System.Buffers.Text.Base64Url.GetMaxDecodedLength(encodedHeader.Length);
        if (maxLength > StackLimit)
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[StackLimit];
        if (!System.Buffers.Text.Base64Url.TryDecodeFromChars(encodedHeader, buffer, out var length))
        {
            return false;
        }

        try
        {
            var reader = new System.Text.Json.Utf8JsonReader(buffer[..length]);
            if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("crit"u8))
                {
                    return false;
                }

                reader.Read();
                reader.Skip();
            }

            return reader.TokenType == System.Text.Json.JsonTokenType.EndObject && reader.CurrentDepth == 0 && !reader.Read();
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private static string? FullCriticalHeaderCheck(string encodedHeader)
    {
        byte[] header;
        try
        {
            header = Base64UrlEncoder.DecodeBytes(encodedHeader);
        }
        catch (FormatException)
        {
            return AuthFailureReasons.Malformed;
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(header);
            if (document.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object
                || !document.RootElement.TryGetProperty("crit", out var crit))
            {
                return null;
            }

            if (crit.ValueKind != System.Text.Json.JsonValueKind.Array || crit.GetArrayLength() == 0)
            {
                return AuthFailureReasons.CritInvalid;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in crit.EnumerateArray())
            {
                if (name.ValueKind != System.Text.Json.JsonValueKind.String || name.GetString() is not { Length: > 0 } text
                    || RegisteredHeaders.Contains(text) || !seen.Add(text) || !document.RootElement.TryGetProperty(text, out _))
                {
                    return AuthFailureReasons.CritInvalid;
                }

                if (!UnderstoodCriticalHeaders.Contains(text))
                {
                    return AuthFailureReasons.CritNotUnderstood;
                }
            }

            return null;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException)
        {
            return AuthFailureReasons.Malformed;
        }
    }

    private static bool IsRegisteredJwksUrl(string jku, TrustedClient client) =>
        client.JwksUrl is not null
        && Uri.TryCreate(jku, UriKind.Absolute, out var claimed)
        && string.Equals(claimed.AbsoluteUri, client.JwksUrl.AbsoluteUri, StringComparison.Ordinal);

    /// <summary>Resolves signing keys only among the keys of the issuer the token claims (already cached by the pre-flight).</summary>
    public IEnumerable<SecurityKey> ResolveSigningKeys(SecurityToken securityToken, string? kid)
    {
        var client = securityToken?.Issuer is { } issuer ? registry.Find(issuer) : null;
        return client is null ? [] : keys.KeysFor(client, kid);
    }

    public override Task TokenValidated(TokenValidatedContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var reason = CheckValidatedToken(context);
        if (reason is not null)
        {
            Fail(context, reason);
        }

        return Task.CompletedTask;
    }

    private string? CheckValidatedToken(TokenValidatedContext context)
    {
        if (context.SecurityToken is not JsonWebToken jwt || registry.Find(jwt.Issuer) is not { } client)
        {
            return AuthFailureReasons.Invalid;
        }

        // JwtBearer checked the union of all issuers' algorithms; this issuer's own list is narrower.
        if (!ContainsOrdinal(client.Algorithms, jwt.Alg))
        {
            return AuthFailureReasons.Algorithm;
        }

        // CDS Hooks 2.0: aud is the URL of the service endpoint being invoked. Taken from configuration, never from Host.
        if (!HasExpectedAudience(jwt, context.HttpContext.Request))
        {
            return AuthFailureReasons.Audience;
        }

        var settings = options.Value;
        var skew = TimeSpan.FromSeconds(settings.ClockSkewSeconds);
        if (!jwt.TryGetPayloadValue<long>(JwtRegisteredClaimNames.Iat, out _))
        {
            return AuthFailureReasons.MissingIat;
        }

        if (jwt.IssuedAt > time.GetUtcNow().UtcDateTime + skew)
        {
            return AuthFailureReasons.IssuedInFuture;
        }

        if (jwt.ValidTo - jwt.IssuedAt > TimeSpan.FromSeconds(settings.MaxTokenLifetimeSeconds))
        {
            return AuthFailureReasons.Lifetime;
        }

        if (client.Tenants.Count > 0
            && !(jwt.TryGetPayloadValue<string>("tenant", out var tenant) && ContainsOrdinal(client.Tenants, tenant)))
        {
            return AuthFailureReasons.Tenant;
        }

        if (string.IsNullOrEmpty(jwt.Id))
        {
            return AuthFailureReasons.MissingJti;
        }

        if (jwt.Id.Length > MaxJtiLength)
        {
            return AuthFailureReasons.JtiTooLong;
        }

        // Remembered after the rate limit, by the admission step, until the token could no longer validate (exp plus skew).
        context.HttpContext.Features.Set(new PendingReplayCheck(client.Issuer, jwt.Id, new DateTimeOffset(jwt.ValidTo) + skew));
        return null;
    }

    /// <summary>
    /// True when one of the token's audiences is exactly <c>{PublicBaseUrl}{path}</c> (ordinal), compared in place
    /// rather than by building the expected string on every call.
    /// </summary>
    private bool HasExpectedAudience(JsonWebToken jwt, HttpRequest request)
    {
        var baseUrl = options.Value.PublicBaseUrl.AsSpan().TrimEnd('/');
        if (baseUrl.IsEmpty)
        {
            return false;
        }

        var path = request.Path.ToUriComponent();
        foreach (var audience in jwt.Audiences)
        {
            if (audience is not null && audience.Length == baseUrl.Length + path.Length
                && audience.AsSpan(0, baseUrl.Length).SequenceEqual(baseUrl) && audience.AsSpan(baseUrl.Length).SequenceEqual(path))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Ordinal membership without LINQ's enumerator and comparer on every call.</summary>
    private static bool ContainsOrdinal(IReadOnlyList<string> values, string? value)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (string.Equals(values[i], value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public override Task AuthenticationFailed(AuthenticationFailedContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.HttpContext.Items.ContainsKey(AuthFailureReasons.ItemKey))
        {
            context.HttpContext.Items[AuthFailureReasons.ItemKey] = context.Exception switch
            {
                SecurityTokenExpiredException => AuthFailureReasons.Expired,
                SecurityTokenNotYetValidException => AuthFailureReasons.NotYetValid,
                SecurityTokenNoExpirationException => AuthFailureReasons.MissingExp,
                SecurityTokenInvalidAudienceException => AuthFailureReasons.Audience,
                SecurityTokenInvalidIssuerException => AuthFailureReasons.UnknownIssuer,
                SecurityTokenInvalidAlgorithmException => AuthFailureReasons.Algorithm,
                SecurityTokenSignatureKeyNotFoundException => AuthFailureReasons.UnknownKid,
                SecurityTokenInvalidSignatureException => AuthFailureReasons.BadSignature,
                SecurityTokenMalformedException => AuthFailureReasons.Malformed,
                _ => AuthFailureReasons.Invalid,
            };
        }

        return Task.CompletedTask;
    }

    public override async Task Challenge(JwtBearerChallengeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.HandleResponse();
        var reason = context.HttpContext.Items[AuthFailureReasons.ItemKey] as string ?? AuthFailureReasons.Invalid;
        await RefuseAsync(context.HttpContext, logger, reason);
    }

    /// <summary>The one 401 answer (also for a replayed jti, found by the admission step): the reason goes to the log only.</summary>
    internal static Task RefuseAsync(HttpContext http, ILogger logger, string reason)
    {
        Log.Refused(logger, LogText.Safe(http.Request.Method, 16), LogText.Safe(http.Request.Path.Value), reason);
        http.Response.Headers.WWWAuthenticate = "Bearer";
        // Generic on purpose: the caller learns nothing about which check failed.
        return OperationOutcomes.WriteAsync(http, StatusCodes.Status401Unauthorized, "login", "A valid CDS client JWT is required.");
    }

    private static void Fail(ResultContext<JwtBearerOptions> context, string reason)
    {
        context.HttpContext.Items[AuthFailureReasons.ItemKey] = reason;
        context.Fail(reason);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3000, Level = LogLevel.Warning,
            Message = "CDS client authentication refused: method={Method} path={Path} reason={Reason}")]
        public static partial void Refused(ILogger logger, string method, string path, string reason);
    }
}
