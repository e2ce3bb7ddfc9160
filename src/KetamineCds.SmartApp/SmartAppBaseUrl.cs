using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace KetamineCds.SmartApp;

/// <summary>
/// The app's public base URL, for the redirect_uri: KetamineCds:SmartApp:PublicBaseUrl, else
/// KetamineCds:Security:PublicBaseUrl, else (local trial only) the request's own scheme and host. The EHR compares the
/// redirect_uri with the registered one, so a forged Host header can only break a launch, never redirect it elsewhere.
/// </summary>
public sealed class SmartAppBaseUrl(IOptions<SmartAppOptions> options, IConfiguration configuration)
{
    public string Resolve(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (options.Value.PublicBaseUrl is { } configured)
        {
            return configured.GetLeftPart(UriPartial.Authority);
        }

        if (Uri.TryCreate(configuration["KetamineCds:Security:PublicBaseUrl"], UriKind.Absolute, out var security))
        {
            return security.GetLeftPart(UriPartial.Authority);
        }

        return $"{context.Request.Scheme}://{context.Request.Host}";
    }
}
