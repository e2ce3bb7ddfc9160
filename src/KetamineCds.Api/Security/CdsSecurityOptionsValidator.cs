using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Security;

/// <summary>Start-up validation of <see cref="CdsSecurityOptions"/>; a misconfigured deployment does not start.</summary>
public sealed class CdsSecurityOptionsValidator(IHostEnvironment environment) : IValidateOptions<CdsSecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, CdsSecurityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var relaxedEnvironment = CdsSecurity.IsDevelopmentOrTesting(environment);
        if (!options.RequireSignedRequests && !relaxedEnvironment)
        {
            errors.Add($"KetamineCds:Security:RequireSignedRequests=false is allowed only in Development or Testing, not in '{environment.EnvironmentName}'.");
        }

        if (!string.IsNullOrWhiteSpace(options.PublicBaseUrl))
        {
            var url = TrustedClientRegistry.ParseSafeUrl(options.PublicBaseUrl, "KetamineCds:Security:PublicBaseUrl", errors);
            if (url is not null && !string.IsNullOrEmpty(url.Query))
            {
                errors.Add("KetamineCds:Security:PublicBaseUrl must not have a query.");
            }

            // Tokens are addressed (aud) to this URL and EHRs send patient data to it: plain http only on a developer's machine.
            if (url is not null && url.Scheme != Uri.UriSchemeHttps && !relaxedEnvironment)
            {
                errors.Add($"KetamineCds:Security:PublicBaseUrl must be https outside Development and Testing (it is '{url.Scheme}' in '{environment.EnvironmentName}'); " +
                           "terminate TLS at the load balancer and give its https URL here.");
            }
        }
        else if (options.Clients.Count > 0)
        {
            errors.Add("KetamineCds:Security:PublicBaseUrl is required when clients are configured (it defines the expected aud).");
        }

        if (options.ClockSkewSeconds is < 0 or > 300)
        {
            errors.Add("KetamineCds:Security:ClockSkewSeconds must be between 0 and 300.");
        }

        if (options.MaxTokenLifetimeSeconds is < 30 or > 3600)
        {
            errors.Add("KetamineCds:Security:MaxTokenLifetimeSeconds must be between 30 and 3600.");
        }

        if (options.JwksCacheSeconds is < 60 or > 86400 || options.JwksRefreshMinIntervalSeconds is < 1 or > 3600
            || options.JwksFetchTimeoutSeconds is < 1 or > 30)
        {
            errors.Add("KetamineCds:Security: JwksCacheSeconds 60-86400, JwksRefreshMinIntervalSeconds 1-3600, JwksFetchTimeoutSeconds 1-30.");
        }

        if (options.RateLimit.PermitLimit < 1 || options.RateLimit.WindowSeconds < 1)
        {
            errors.Add("KetamineCds:Security:RateLimit: PermitLimit and WindowSeconds must be positive.");
        }

        foreach (var origin in options.Cors.AllowedOrigins)
        {
            if (CdsSecurity.NormalizeOrigin(origin) is null)
            {
                errors.Add($"KetamineCds:Security:Cors:AllowedOrigins: '{origin}' is not an exact origin (scheme://host[:port]); wildcards are refused.");
            }
        }

        if (!string.IsNullOrWhiteSpace(options.Audit.PatientIdHashKey))
        {
            if (!TryDecodeKey(options.Audit.PatientIdHashKey, out var key) || key.Length < 32)
            {
                errors.Add("KetamineCds:Security:Audit:PatientIdHashKey must be base64 of at least 32 random bytes.");
            }
        }
        else if (options.Clients.Count > 0 && !relaxedEnvironment)
        {
            errors.Add("KetamineCds:Security:Audit:PatientIdHashKey is required outside Development/Testing (base64 of 32 random bytes).");
        }

        var issuers = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Clients.Count; i++)
        {
            var client = TrustedClientRegistry.Parse(options.Clients[i], i, errors);
            if (client is not null && !issuers.Add(client.Issuer))
            {
                errors.Add($"KetamineCds:Security:Clients:{i}: issuer '{client.Issuer}' is configured twice.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static bool TryDecodeKey(string value, out byte[] key)
    {
        key = [];
        try
        {
            key = Convert.FromBase64String(value.Trim());
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
