using KetamineCds.Fhir.Fallback;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Security;

/// <summary>
/// Start-up refusal of development-only FHIR fallback settings in a real deployment (issue 8 item 5):
/// <c>KetamineCds:FhirFallback:AllowHttpLoopback</c> lets the service send an EHR's access token over plain http to a
/// loopback port, which on a shared host is anyone's listener. Allowed only in Development and Testing.
/// </summary>
public sealed class FhirFallbackDeploymentValidator(IHostEnvironment environment) : IValidateOptions<FhirFallbackOptions>
{
    public ValidateOptionsResult Validate(string? name, FhirFallbackOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.AllowHttpLoopback && !CdsSecurity.IsDevelopmentOrTesting(environment)
            ? ValidateOptionsResult.Fail(
                $"{FhirFallbackOptions.Section}:AllowHttpLoopback=true is allowed only in Development or Testing, not in '{environment.EnvironmentName}': " +
                "it would send EHR access tokens over plain http. Remove it (FHIR servers must be https).")
            : ValidateOptionsResult.Success;
    }
}
