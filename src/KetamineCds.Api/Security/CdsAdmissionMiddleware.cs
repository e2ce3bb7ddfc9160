using System.Globalization;
using KetamineCds.Api.Infrastructure;

namespace KetamineCds.Api.Security;

/// <summary>Marks an endpoint as a CDS call subject to the per-issuer rate limit (hook and feedback calls).</summary>
public sealed class CdsRateLimitedMetadata
{
    public static CdsRateLimitedMetadata Instance { get; } = new();

    private CdsRateLimitedMetadata()
    {
    }
}

/// <summary>
/// Admits an authorized call, in this order (issue 8 item 5): the per-issuer rate limit (429), then the jti replay store
/// (401 for a replay, 503 when a shared store cannot answer). Throttling first means a flood of validly signed tokens
/// is refused before any of them is written to the replay store, so the store grows only at the permitted rate.
/// Runs after authorization, so the issuer is verified and nothing unauthenticated reaches either.
/// </summary>
public sealed partial class CdsAdmissionMiddleware(
    RequestDelegate next,
    IIssuerRateLimiter rateLimiter,
    IJtiReplayStore replayStore,
    ILogger<CdsJwtBearerEvents> authLogger,
    ILogger<CdsAdmissionMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var authenticated = context.User.Identity?.IsAuthenticated == true;
        if (context.GetEndpoint()?.Metadata.GetMetadata<CdsRateLimitedMetadata>() is not null)
        {
            var partition = authenticated ? context.User.FindFirst("iss")?.Value ?? "" : "unsigned";
            var decision = await rateLimiter.AcquireAsync(partition, context.RequestAborted);
            if (!decision.Allowed)
            {
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(decision.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                LogRateLimited(logger, LogText.Safe(partition));
                await OperationOutcomes.WriteAsync(context, StatusCodes.Status429TooManyRequests, "throttled",
                    "Too many requests from this CDS client; retry after the interval in Retry-After.");
                return;
            }
        }

        if (authenticated)
        {
            if (context.Features.Get<PendingReplayCheck>() is not { } pending)
            {
                // Every token JwtBearer accepts passed TokenValidated, which records its jti; anything else is refused.
                await CdsJwtBearerEvents.RefuseAsync(context, authLogger, AuthFailureReasons.Invalid);
                return;
            }

            bool remembered;
            try
            {
                remembered = await replayStore.TryRememberAsync(pending.Issuer, pending.Jti, pending.ExpiresAt, context.RequestAborted);
            }
            catch (ReplayStoreUnavailableException ex)
            {
                LogReplayStoreUnavailable(logger, LogText.Safe(ex.Message, LogText.MessageMaxLength));
                context.Response.Headers.RetryAfter = "5";
                await OperationOutcomes.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "transient",
                    "The service cannot check this token for replay right now; retry shortly with a new token.");
                return;
            }

            if (!remembered)
            {
                await CdsJwtBearerEvents.RefuseAsync(context, authLogger, AuthFailureReasons.ReplayedJti);
                return;
            }
        }

        await next(context);
    }

    [LoggerMessage(EventId = 3204, Level = LogLevel.Warning, Message = "Rate limit reached: issuer={Issuer}")]
    private static partial void LogRateLimited(ILogger logger, string issuer);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Error,
        Message = "Replay store unavailable: the call was refused with 503 (fail closed). detail={Detail}")]
    private static partial void LogReplayStoreUnavailable(ILogger logger, string detail);
}

public static class CdsAdmissionExtensions
{
    /// <summary>The per-issuer rate limit, applied by <see cref="CdsAdmissionMiddleware"/> before the replay store.</summary>
    public static TBuilder RequireCdsRateLimit<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(CdsRateLimitedMetadata.Instance);
}
