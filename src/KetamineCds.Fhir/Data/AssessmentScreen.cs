using KetamineCds.Fhir.Facts;

namespace KetamineCds.Fhir.Data;

/// <summary>
/// The Observation pre-screen: an Observation can only become a QIDS-SR16 or CADSS score through one of the assessment
/// codes (ours, or the site's configured ones), so one whose <c>code</c> contains none of them (as a case-insensitive
/// substring: a superset of what <see cref="AssessmentReader.Recognize"/> matches) is not deserialized. On a real chart
/// most Observations are vitals, labs and other questionnaires that no rule reads.
/// </summary>
public static class AssessmentScreen
{
    public static ResourceScreen For(AssessmentReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return new ResourceScreen(reader.Codes, ["code"]);
    }
}
