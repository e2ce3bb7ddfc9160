using System.ComponentModel.DataAnnotations;

namespace KetamineCds.Api.Infrastructure;

/// <summary>Operational settings (section "KetamineCds"); clinical knowledge is not configured here but in fhir-profiles.</summary>
public sealed class CdsOptions
{
    public const string Section = "KetamineCds";

    /// <summary>Largest hook request body accepted (prefetch included), in bytes.</summary>
    [Range(1024, 256L * 1024 * 1024)]
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Deepest JSON nesting accepted; FHIR resources rarely pass 20.</summary>
    [Range(16, 256)]
    public int MaxJsonDepth { get; set; } = 64;

    /// <summary>A site's own benzodiazepine threshold (mg/day lorazepam equivalents); null uses the article's 4 mg/day.</summary>
    [Range(0.1, 100)]
    public decimal? BenzodiazepineThresholdLorazepamMgPerDay { get; set; }

    /// <summary>A directory of fhir-profiles to load instead of the embedded defaults (for a site's reviewed copy).</summary>
    public string? KnowledgeDirectory { get; set; }
}
