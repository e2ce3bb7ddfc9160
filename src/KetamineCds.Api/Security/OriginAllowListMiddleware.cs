using KetamineCds.Api.Infrastructure;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Security;

/// <summary>
/// A browser request (one with an Origin header) to a CDS route from an origin not on the allow-list gets 403 with an
/// OperationOutcome, rather than being processed and merely hidden from the page by CORS. EHR back ends send no Origin.
/// </summary>
public sealed partial class OriginAllowListMiddleware(RequestDelegate next, IOptions<CdsSecurityOptions> options, ILogger<OriginAllowListMiddleware> logger)
{
    private readonly HashSet<string> allowed = new(
        options.Value.Cors.AllowedOrigins.Select(CdsSecurity.NormalizeOrigin).OfType<string>(), StringComparer.OrdinalIgnoreCase);

    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string? origin = context.Request.Headers.Origin;
        if (origin is not null && context.Request.Path.StartsWithSegments("/cds-services", StringComparison.OrdinalIgnoreCase)
            && (CdsSecurity.NormalizeOrigin(origin) is not { } normalized || !allowed.Contains(normalized)))
        {
            Log.OriginRefused(logger, context.Request.Method);
            await OperationOutcomes.WriteAsync(context, StatusCodes.Status403Forbidden, "forbidden", "This origin is not allowed to call the service.");
            return;
        }

        await next(context);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3300, Level = LogLevel.Warning, Message = "Request from an origin not on the allow-list refused: method={Method}")]
        public static partial void OriginRefused(ILogger logger, string method);
    }
}
