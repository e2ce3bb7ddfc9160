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
/// tenant, and jti replay; nothing unauthenticated reaches the replay store.</item>
/// </list>
/// Every refusal is a 401 with a generic OperationOutcome; the reason code goes to the log only.
/// </summary>
public sealed partial class CdsJwtBearerEvents(
    ITrustedClientRegistry registry,
    JwksCache keys,
    IJtiReplayStore replayStore,
    IOptions<CdsSecurityOptions> options,
    TimeProvider time,
    ILogger<CdsJwtBearerEvents> logger) : JwtBearerEvents
{
    /// <summary>Longer than any real CDS client JWT; longer ones are refused unread.</summary>
    private const int MaxTokenLength = 16 * 1024;

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
        var reason = await PreflightAsync(token, context.HttpContext.RequestAborted);
        if (reason is not null)
        {
            Fail(context, reason);
            return;
        }

        context.Token = token;
    }

    private async Task<string?> PreflightAsync(string token, CancellationToken cancellationToken)
    {
        JsonWebToken jwt;
        try
        {
            if (token.Length > MaxTokenLength)
            {
                return AuthFailureReasons.Malformed;
            }

            jwt = new JsonWebToken(token);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenMalformedException or System.Text.Json.JsonException)
        {
            return AuthFailureReasons.Malformed;
        }

        if (jwt.IsEncrypted)
        {
            return AuthFailureReasons.Encrypted;
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

        var client = string.IsNullOrEmpty(issuer) ? null : registry.Find(issuer);
        if (client is null)
        {
            return AuthFailureReasons.UnknownIssuer;
        }

        if (!client.Algorithms.Contains(jwt.Alg, StringComparer.Ordinal))
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

        return await keys.EnsureKeyAsync(client, jwt.Kid, cancellationToken) switch
        {
            JwksCache.KeyLookup.Found => null,
            JwksCache.KeyLookup.JwksUnavailable => AuthFailureReasons.JwksUnavailable,
            _ => AuthFailureReasons.UnknownKid,
        };
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

    public override async Task TokenValidated(TokenValidatedContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var reason = await CheckValidatedTokenAsync(context);
        if (reason is not null)
        {
            Fail(context, reason);
        }
    }

    private async Task<string?> CheckValidatedTokenAsync(TokenValidatedContext context)
    {
        if (context.SecurityToken is not JsonWebToken jwt || registry.Find(jwt.Issuer) is not { } client)
        {
            return AuthFailureReasons.Invalid;
        }

        // JwtBearer checked the union of all issuers' algorithms; this issuer's own list is narrower.
        if (!client.Algorithms.Contains(jwt.Alg, StringComparer.Ordinal))
        {
            return AuthFailureReasons.Algorithm;
        }

        // CDS Hooks 2.0: aud is the URL of the service endpoint being invoked. Taken from configuration, never from Host.
        var expectedAudience = ExpectedAudience(context.HttpContext.Request);
        if (expectedAudience is null || !jwt.Audiences.Contains(expectedAudience, StringComparer.Ordinal))
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
            && !(jwt.TryGetPayloadValue<string>("tenant", out var tenant) && client.Tenants.Contains(tenant, StringComparer.Ordinal)))
        {
            return AuthFailureReasons.Tenant;
        }

        if (string.IsNullOrEmpty(jwt.Id))
        {
            return AuthFailureReasons.MissingJti;
        }

        // Remember the jti until the token could no longer validate (exp plus the skew we allow).
        var remembered = await replayStore.TryRememberAsync(client.Issuer, jwt.Id, new DateTimeOffset(jwt.ValidTo) + skew,
            context.HttpContext.RequestAborted);
        return remembered ? null : AuthFailureReasons.ReplayedJti;
    }

    private string? ExpectedAudience(HttpRequest request)
    {
        var baseUrl = options.Value.PublicBaseUrl?.TrimEnd('/');
        return string.IsNullOrEmpty(baseUrl) ? null : baseUrl + request.Path.ToUriComponent();
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
        Log.Refused(logger, context.Request.Method, context.Request.Path.Value ?? "", reason);
        context.Response.Headers.WWWAuthenticate = "Bearer";
        // Generic on purpose: the caller learns nothing about which check failed.
        await OperationOutcomes.WriteAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "login",
            "A valid CDS client JWT is required.");
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
