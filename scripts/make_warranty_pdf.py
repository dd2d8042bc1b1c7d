"""Regenerate ``warranty-policy.pdf`` for the Xinghe Electronics demo knowledge base.

The PDF is committed so the demo works without this script; run it again after editing the
text below (``python scripts/make_warranty_pdf.py``). It uses fpdf2's core
Helvetica font, which only covers Latin-1, so the text stays plain ASCII.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "knowledge"
    / "demo"
    / "policies"
    / "warranty-policy.pdf"
)
# A fixed date keeps the file byte-identical between runs, so a reload sees no change.
CREATED = datetime(2024, 11, 1, tzinfo=UTC)

TITLE = "Xinghe Electronics Warranty Policy"
INTRO = (
    "This policy describes the warranty on products bought from the Xinghe Electronics online "
    "store. It applies to phones, laptops, tablets, headphones, smartwatches, cameras, "
    "accessories and smart home products, and it is in addition to your rights under "
    "consumer protection law."
)

Section = tuple[str, list[str]]
"""A heading and its paragraphs; a paragraph starting with "- " is printed as a bullet."""

SECTIONS: list[Section] = [
    (
        "1. Warranty periods",
        [
            "- Laptops: 2 years.",
            "- Phones, tablets, headphones, smartwatches, cameras, accessories and smart home "
            "products: 1 year.",
            "The warranty starts on the delivery date shown in your order. Accessories that "
            "come in the box are covered for as long as the main product. Repaired parts are "
            "covered for 90 days or for the rest of the original warranty, whichever is longer.",
            "In the first days after delivery, the returns and refunds policy gives you more: a "
            "faulty product can be returned within 7 days or exchanged for a new unit of the "
            "same model within 15 days of delivery. After 15 days, faults are repaired under "
            "this warranty.",
        ],
    ),
    (
        "2. What the warranty covers",
        [
            "The warranty covers faults in materials and workmanship that appear in normal "
            "use. During the warranty, parts, labour and shipping both ways are free of charge. "
            "If a product cannot be repaired, we replace it with the same model or, if that is "
            "no longer available, a model of equal or better specification.",
        ],
    ),
    (
        "3. What is not covered",
        [
            "- Damage from drops, impacts, liquid or extreme heat.",
            "- Damage caused by repairs, opening or modifications not made by Xinghe.",
            "- Normal wear, and cosmetic scratches or dents that do not affect function.",
            "- Loss or theft, and loss of data or software installed by you.",
            "We can still repair products in these cases for a fee (see section 6). Accidental "
            "damage is covered once if you have Xinghe Care+ (see section 7).",
        ],
    ),
    (
        "4. How to make a warranty claim",
        [
            "1. Open the order in My Orders and choose After-sales service > Repair, or call "
            "our hotline on 400-820-1234.",
            "2. Describe the fault and add photos or a short video if you can.",
            "3. Once the request is approved, book a free courier pickup. Back up your data and "
            "sign out of your Xinghe account before sending the product, because repairs may "
            "reset the device.",
        ],
    ),
    (
        "5. Repair times",
        [
            "Our repair centre returns the product within 7-10 working days of receiving it. We "
            "send you an SMS when the product arrives, when the repair is finished and when it "
            "ships back to you. You can follow the status on the order details page.",
        ],
    ),
    (
        "6. Out-of-warranty repairs",
        [
            "Products outside the warranty, or with damage the warranty does not cover, can be "
            "repaired for a fee. Diagnosis is free and we send you a quote before any work "
            "starts. If you decide not to go ahead, you only pay for return shipping. Paid "
            "repairs are covered for 90 days.",
        ],
    ),
    (
        "7. Xinghe Care+ extended protection",
        [
            "Xinghe Care+ can be added within 30 days of delivery. It extends the warranty by "
            "1 more year and includes one repair for accidental damage such as a drop or a "
            "liquid spill. The price depends on the product and is shown on the product page "
            "and in your order details. Once activated, Xinghe Care+ cannot be returned.",
        ],
    ),
    (
        "8. Proof of purchase",
        [
            "Warranty service is based on your Xinghe order record. Your order number, or the "
            "phone number on your account, is enough: no paper invoice or receipt is needed. "
            "Products given as gifts are covered too, with the original order number.",
        ],
    ),
    (
        "9. Contact us",
        [
            "- Hotline: 400-820-1234, every day from 9:00 to 21:00 (Beijing time), weekends "
            "and public holidays included.",
            "- Email: support@xinghe-demo.com, answered within 24 hours.",
            "- Online chat: available 24/7; type agent to reach a person between 9:00 and 21:00.",
        ],
    ),
]


def _write_paragraph(pdf: FPDF, text: str) -> None:
    """Write one paragraph, indenting bullets so their wrapped lines line up."""
    if text.startswith("- "):
        pdf.set_x(pdf.l_margin + 4)
        pdf.multi_cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:
        pdf.multi_cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)


def build_pdf() -> FPDF:
    """Lay out the warranty policy.

    Returns:
        The finished document, ready to be written with ``output``.
    """
    pdf = FPDF(format="A4")
    pdf.set_title(TITLE)
    pdf.set_author("Xinghe Electronics")
    pdf.set_subject("Warranty policy")
    pdf.set_creation_date(CREATED)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, TITLE, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 11)
    _write_paragraph(pdf, INTRO)
    for heading, paragraphs in SECTIONS:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 13)
        pdf.cell(0, 9, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "", 11)
        for paragraph in paragraphs:
            _write_paragraph(pdf, paragraph)
    return pdf


def main() -> None:
    """Write the PDF next to this script."""
    build_pdf().output(str(OUTPUT))
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
