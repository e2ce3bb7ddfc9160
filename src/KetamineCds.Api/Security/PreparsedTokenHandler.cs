using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Api.Security;

/// <summary>
/// JwtBearer's token handler, reusing the token the pre-flight (<see cref="CdsJwtBearerEvents.MessageReceived"/>)
/// already parsed instead of parsing the same string a second time. Validation itself is JsonWebTokenHandler's,
/// unchanged: only the parse is shared.
/// <para>
/// The hand-over is a per-thread slot matched by reference to the exact string the pre-flight set as the request's
/// token (a fresh substring of its Authorization header, so no other request holds that instance). JwtBearer calls the
/// handler on the same thread when the pre-flight completed synchronously (the key was cached); after an awaited JWKS
/// fetch the slot does not match and the handler parses as usual. Either way the token validated is the one parsed
/// from that string.
/// </para>
/// </summary>
public sealed class PreparsedTokenHandler : JsonWebTokenHandler
{
    [ThreadStatic]
    private static string? pendingToken;

    [ThreadStatic]
    private static JsonWebToken? pendingParsed;

    /// <summary>Hands the pre-flight's parse of <paramref name="token"/> to the next validation on this thread.</summary>
    internal static void Hold(string token, JsonWebToken parsed)
    {
        pendingToken = token;
        pendingParsed = parsed;
    }

    /// <summary>Drops a parse that will not be used (the pre-flight refused the token).</summary>
    internal static void Release()
    {
        pendingToken = null;
        pendingParsed = null;
    }

    public override Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var held = pendingParsed;
        var matches = held is not null && ReferenceEquals(pendingToken, token);
        Release();
        return matches ? ValidateTokenAsync(held!, validationParameters) : base.ValidateTokenAsync(token, validationParameters);
    }
}
