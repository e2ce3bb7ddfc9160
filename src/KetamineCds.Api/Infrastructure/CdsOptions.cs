using System.ComponentModel.DataAnnotations;
using KetamineCds.Clinical.Outcomes;

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

    /// <summary>Validate assessment Observations against the KetamineCds profiles at request time (invalid ones are excluded and counted).</summary>
    public bool ValidateAssessments { get; set; } = true;

    /// <summary>A site's own codes for the assessment totals (e.g. EHR flowsheet rows), as a list: ':' cannot be a key.</summary>
    public List<AssessmentCodeOption> AssessmentCodes { get; set; } = [];

    /// <summary>Assessment validation verdicts remembered per process, keyed by a hash of each Observation's JSON (0: none).</summary>
    [Range(0, 1_000_000)]
    public int ValidationResultCacheSize { get; set; } = 10_000;

    /// <summary>Where the FHIR core specification is unpacked for the validator (about 60 MB); default: $TMPDIR.</summary>
    public string? SpecificationExtractDirectory { get; set; }

    /// <summary>A directory holding the core specification already unpacked (read-only is fine; the Dockerfile makes
    /// one at image build time); when set, the zip is not opened and nothing is extracted at start-up.</summary>
    public string? SpecificationDirectory { get; set; }

    /// <summary>How often free native heap pages are given back to the kernel (glibc's malloc_trim), in seconds; 0: never
    /// (ADR-19). Without it the resident size creeps up by the free pages glibc keeps between live blocks.</summary>
    [Range(0, 86_400)]
    public int NativeHeapTrimIntervalSeconds { get; set; } = 60;
}

/// <summary>One site code for an assessment total.</summary>
public sealed class AssessmentCodeOption
{
    public AssessmentKind Kind { get; set; }

    [Required]
    public string System { get; set; } = "";

    [Required]
    public string Code { get; set; } = "";
}
