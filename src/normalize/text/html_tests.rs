//! [`html_to_text`] end to end: paragraphs, dropped elements, attributes, comments,
//! entities and double escaping, invisible characters, plain text, unclosed constructs.

use super::*;
use proptest::prelude::*;

proptest! {
    /// The `&` search in front of html_escape changes nothing, with or without entities.
    #[test]
    fn decode_entities_is_html_escape(s in "([a-z &;#x0-9]|&amp;|&#39;|&lt;|&eacute;|\\PC){0,40}") {
        prop_assert_eq!(decode_entities(&s), html_escape::decode_html_entities(&s));
    }
}

/// Each unclosed `<script>` searched the rest of the input for its end tag: 2 MB of
/// `<script>x ` took two minutes. Counted in bytes searched, not timed: at most a few passes
/// over the input, however many unclosed tags it holds.
#[test]
fn unclosed_raw_text_tags_are_searched_past_once() {
    use super::super::markup::RAW_SEARCHED;
    for unit in ["<script>x ", "<style>a <textarea>b ", "&lt;script&gt;x "] {
        let html = unit.repeat(4000);
        RAW_SEARCHED.with(|c| c.set(0));
        let text = html_to_text(&html);
        let searched = RAW_SEARCHED.with(std::cell::Cell::get);
        assert!(
            text.contains("x") || text.contains("b"),
            "{unit}: {text:.40}"
        );
        assert!(
            searched <= 8 * html.len(),
            "{unit}: {searched} bytes searched for end tags in {} bytes",
            html.len()
        );
    }
    // A closed one after unclosed ones of another name is still dropped.
    assert_eq!(
        html_to_text("<p>a <style>b <p>c</p><script>gone</script><p>d</p>"),
        "a <style>b\n\nc\n\nd"
    );
}

#[test]
fn paragraphs_and_inline_tags() {
    let html = "<p>Hello <b>big</b>\n   world.</p><p></p><div>Second<br>third</div>";
    assert_eq!(html_to_text(html), "Hello big world.\n\nSecond\n\nthird");
    assert_eq!(html_to_text("wo<span>rd</span>s"), "words");
    assert_eq!(
        html_to_text("Álvarez-<wbr>Núñez reg<wbr/>ulators"),
        "Álvarez-Núñez regulators"
    );
    assert_eq!(html_to_text("<ul><li>a</li><li>b</li></ul>"), "a\n\nb");
    assert_eq!(html_to_text("<h2>Head</h2>Body"), "Head\n\nBody");
    assert_eq!(
        html_to_text("<table><tr><td>a</td><td>b</td></tr></table>"),
        "a b"
    );
}

#[test]
fn drops_non_content_elements() {
    let html = "<p>Keep</p><script>var x = '<p>no</p>'; if (a<b) {}</script>\
                <style>p{}</style><nav><a>Home</a><nav>inner</nav> still nav</nav>\
                <aside>Ad</aside><figure><img src=x><figcaption>Cap</figcaption></figure>\
                <noscript>ns</noscript><iframe src=y>frame</iframe><p>Also keep</p>";
    assert_eq!(html_to_text(html), "Keep\n\nAlso keep");
    assert_eq!(html_to_text("a<SCRIPT type=x>x</Script >b"), "a b");
}

#[test]
fn attributes_with_gt_and_quotes() {
    assert_eq!(
        html_to_text(r#"<a href="x>y" title='a > b'>link</a> text"#),
        "link text"
    );
    assert_eq!(html_to_text("<img alt=\"1 > 2\"/>after"), "after");
}

#[test]
fn comments_cdata_doctype() {
    assert_eq!(
        html_to_text("<!DOCTYPE html><!-- c <p> -->A<![CDATA[B]]>C"),
        "ABC"
    );
    assert_eq!(html_to_text("<![CDATA[<p>Text</p>]]>"), "Text");
    assert_eq!(html_to_text("<?xml version=\"1.0\"?>X"), "X");
}

#[test]
fn entities_and_double_escaping() {
    assert_eq!(
        html_to_text("AT&amp;T &ldquo;ok&rdquo; &#8217; &#x2014;"),
        "AT&T “ok” ’ —"
    );
    assert_eq!(
        html_to_text("&lt;p&gt;One&lt;/p&gt;&lt;p&gt;Two&lt;/p&gt;"),
        "One\n\nTwo"
    );
    assert_eq!(
        html_to_text("&amp;lt;p&amp;gt;One&amp;lt;/p&amp;gt;&amp;lt;p&amp;gt;Two &amp;amp; three&amp;lt;/p&amp;gt;"),
        "One\n\nTwo & three"
    );
    // Entities escaped twice or three times (the XML reader decoded once before).
    assert_eq!(
        html_to_text("Fish &amp;amp; Chips, it&amp;#8217;s &amp;quot;fine&amp;quot;"),
        "Fish & Chips, it’s \"fine\""
    );
    assert_eq!(html_to_text("It&amp;amp;#8217;s"), "It’s");
    assert_eq!(html_to_text("AT&amp;T;"), "AT&T;");
    // HTML with elements of its own that escapes a tag in its text shows the tag, as a
    // browser does: it is not double-escaped HTML.
    assert_eq!(
        html_to_text("<p>Wrap words in the &lt;strong&gt; element, not in &lt;b&gt;.</p>"),
        "Wrap words in the <strong> element, not in <b>."
    );
    assert_eq!(
        html_to_text("<p>Example:</p><pre>&lt;div class=\"x\"&gt;Hello&lt;/div&gt;</pre>"),
        "Example:\n\n<div class=\"x\">Hello</div>"
    );
    // Its entities escaped once more are still decoded.
    assert_eq!(html_to_text("<p>Fish &amp;amp; Chips</p>"), "Fish & Chips");
    // Escaped text that is not markup stays as text.
    assert_eq!(html_to_text("1 &lt; 2 and 3 &gt; 2"), "1 < 2 and 3 > 2");
    // Comparisons escaped once, whose words between `<` and `>` start with a tag's name:
    // text, not a tag to drop.
    assert_eq!(html_to_text("a&lt;b and c&gt;d"), "a<b and c>d");
    assert_eq!(
        html_to_text("Rates: x &lt;i or j&gt; r, then &lt;a few&gt; more."),
        "Rates: x <i or j> r, then <a few> more."
    );
    // Markup escaped once more, told by its attributes, a `/>` or a closing tag.
    assert_eq!(html_to_text("&lt;img src=\"x.jpg\"&gt;Caption"), "Caption");
    assert_eq!(html_to_text("Lead&lt;hr/&gt;Body"), "Lead\n\nBody");
    assert_eq!(
        html_to_text("&lt;b&gt;Breaking&lt;/b&gt;: news"),
        "Breaking: news"
    );
    // Tags without attributes, closed or not (a summary cut before its closing tag, void
    // elements written without a slash).
    assert_eq!(html_to_text("Lead&lt;hr&gt;Body"), "Lead\n\nBody");
    assert_eq!(html_to_text("&lt;li&gt;One&lt;li&gt;Two"), "One\n\nTwo");
    assert_eq!(html_to_text("&lt;img&gt;Caption"), "Caption");
    assert_eq!(
        html_to_text("&lt;b&gt;Breaking:&lt;b&gt; news"),
        "Breaking: news"
    );
    // One tag's name in text, a type's name: words, as a browser shows them.
    assert_eq!(
        html_to_text("Use the &lt;b&gt; tag for bold"),
        "Use the <b> tag for bold"
    );
    assert_eq!(
        html_to_text("Returns Vec&lt;Article&gt; now, not a slice"),
        "Returns Vec<Article> now, not a slice"
    );
    assert_eq!(
        html_to_text("Wrap rows in a &lt;Table&gt; component"),
        "Wrap rows in a <Table> component"
    );
    assert_eq!(html_to_text("x&lt;i&gt;y then more"), "x<i>y then more");
    // Words after a tag's name, `p` and `br` too, or with an `=` among them: text.
    assert_eq!(html_to_text("0&lt;p and q&gt;1"), "0<p and q>1");
    assert_eq!(
        html_to_text("if x&lt;br or y&gt;q then"),
        "if x<br or y>q then"
    );
    assert_eq!(
        html_to_text("if a&lt;b and c == d&gt;e"),
        "if a<b and c == d>e"
    );
    // An entity escaped twice beside them is decoded, the words kept.
    assert_eq!(
        html_to_text("a&lt;b and c&gt;d &amp;amp; e"),
        "a<b and c>d & e"
    );
    assert_eq!(
        html_to_text("Use &amp;lt; to write a&lt;b and c&gt;d"),
        "Use < to write a<b and c>d"
    );
    // HTML with tags of its own, a tag escaped in its text and an entity escaped twice:
    // the tag's name stays text, as a browser shows it.
    assert_eq!(
        html_to_text("<p>Use the &lt;b&gt;x&lt;/b&gt; tag &amp;amp; more</p>"),
        "Use the <b>x</b> tag & more"
    );
    assert_eq!(html_to_text("a < b > c"), "a < b > c");
}

#[test]
fn invisible_and_control_chars() {
    assert_eq!(
        html_to_text("a\u{200B}b\u{FEFF} c&nbsp;d\u{00A0}e\u{7}f\u{AD}g \u{92}s"),
        "ab c d efg ’s"
    );
    assert_eq!(html_to_text("x&#146;s"), "x’s");
    // References to control characters go as the characters do.
    assert_eq!(html_to_text("a&#0;b&#x1F;c&#00;d&#9;e"), "abcd e");
    assert_eq!(html_to_text("&#1;"), "");
    // References to no character: a surrogate pair written as two is its character, any
    // other is U+FFFD (they were shown as written).
    assert_eq!(
        html_to_text("Smile &#55357;&#56832; &#xD83D;&#xde00; now"),
        "Smile 😀 😀 now"
    );
    assert_eq!(
        html_to_text("cut &#55357; &#56832; &#55357;&#65; &#1114112;"),
        "cut \u{FFFD} \u{FFFD} \u{FFFD}A \u{FFFD}"
    );
    // Other numeric references, and what only looks like one, as before.
    assert_eq!(
        html_to_text("a&#65;b &#; &#x; &#12345678901;"),
        "aAb &#; &#x; &#12345678901;"
    );
    // The Arabic letter mark steers display like LRM and RLM, which go too.
    assert_eq!(html_to_text("\u{61C}باكو\u{200F}"), "باكو");
    // ZWNJ is meaningful in Persian and kept for display.
    assert_eq!(html_to_text("می\u{200C}خواهم"), "می\u{200C}خواهم");
    // ...but where no word goes on, it joins nothing: no paragraph of it alone.
    assert_eq!(
        html_to_text("<p>&zwnj;</p><p>The project \u{200D}starts.</p><p> \u{200C}</p>"),
        "The project starts."
    );
    assert_eq!(html_to_text("👩\u{200D}💻 codes"), "👩\u{200D}💻 codes");
}

#[test]
fn plain_text_blank_lines_are_paragraphs() {
    assert_eq!(
        html_to_text("One line.\r\n\r\nTwo.\n\n\n"),
        "One line.\n\nTwo."
    );
    // Short lines (headers, bylines) are paragraphs of their own...
    assert_eq!(
        html_to_text("Section 1 May\nBy Someone\nHeadline"),
        "Section 1 May\n\nBy Someone\n\nHeadline"
    );
    // ...hard-wrapped prose lines are joined.
    let wrapped = "This is a long line of hard-wrapped wire copy that goes on\nand continues here.";
    assert_eq!(html_to_text(wrapped), wrapped.replace('\n', " "));
    // A bullet at a line's start begins an item of its own, however long the line before
    // it (NZ Herald's "VIRUS LATEST" box, CNN's lists, as `&bull;` or as the character).
    assert_eq!(
        html_to_text(
            "VIRUS LATEST\n&bull;  UK death toll nears 30,000 - the highest in Europe \n&bull; Globally, there are now 3.63 million cases\n \u{2022} NZ has recorded 21 deaths"
        ),
        "VIRUS LATEST\n\n• UK death toll nears 30,000 - the highest in Europe\n\n• Globally, there are now 3.63 million cases\n\n• NZ has recorded 21 deaths"
    );
    // ...but not a bullet inside a line, nor a dash that goes on with wrapped prose.
    let dash =
        "This is a long line of hard-wrapped wire copy that goes on\n- and on \u{2022} here.";
    assert_eq!(html_to_text(dash), dash.replace('\n', " "));
    // In HTML, newlines are just whitespace.
    assert_eq!(html_to_text("<p>Short\nline</p>"), "Short line");
    assert_eq!(
        html_to_text(
            "<p>A long line of text in a paragraph of HTML that goes on\n\u{2022} one</p>"
        ),
        "A long line of text in a paragraph of HTML that goes on \u{2022} one"
    );
    assert_eq!(html_to_text("   "), "");
    assert_eq!(html_to_text(""), "");
}

#[test]
fn unclosed_constructs() {
    // A raw-text element never closed is words about one, not a script: it must not take
    // the rest of the text (an article, a headline) with it, served or escaped.
    assert_eq!(
        html_to_text("before<script>never closed"),
        "before<script>never closed"
    );
    assert_eq!(
        html_to_text("<p>hiding a &lt;script&gt; tag in ads.</p><p>More.</p>"),
        "hiding a <script> tag in ads.\n\nMore."
    );
    assert_eq!(
        html_to_text("Why <script> tags still matter"),
        "Why <script> tags still matter"
    );
    assert_eq!(html_to_text("a<style>b</style>c <style>d"), "a c <style>d");
    assert_eq!(html_to_text("before<!-- never closed"), "before");
    // An unclosed skipped element does not swallow the article.
    assert_eq!(
        html_to_text("<p>Lead</p><figure>caption <p>Body text</p>"),
        "Lead\n\ncaption\n\nBody text"
    );
    assert_eq!(html_to_text("text <a href=\"x"), "text");
    assert_eq!(html_to_text("<<<<"), "<<<<");
    assert_eq!(html_to_text("]]>x"), "x");
    // Left over from a broken feed: a section closed twice, or nested in another.
    assert_eq!(html_to_text("<p>Body</p>]]>"), "Body");
    assert_eq!(html_to_text("<![CDATA[<p>A ]]> b</p>"), "A b");
    // Text: a `]]>` between words, decoded from an entity or not.
    assert_eq!(
        html_to_text("Use ]]&gt; to end a CDATA section"),
        "Use ]]> to end a CDATA section"
    );
    assert_eq!(
        html_to_text("<p>Tokens like ]]> close sections</p>"),
        "Tokens like ]]> close sections"
    );
    // A CDATA opening in a comment opens nothing: the `]]>` after it stays text.
    assert_eq!(
        html_to_text("<!-- <![CDATA[ --><p>Tokens like ]]> close sections</p>"),
        "Tokens like ]]> close sections"
    );
    assert_eq!(html_to_text("<!-- x --><![CDATA[<p>A ]]> b</p>"), "A b");
    // Escaped `<`s are text once decoded: a `&lt;b y.` is not read again as an unterminated
    // tag that takes the rest of the article; escaped tags that close still are markup.
    assert_eq!(
        html_to_text("<p>Vote: yes&lt;no, and x &lt;b y. More after it.</p>"),
        "Vote: yes<no, and x <b y. More after it."
    );
    assert_eq!(
        html_to_text("&lt;p&gt;Twice &lt;b class=\"x\"&gt;escaped&lt;/b&gt;.&lt;/p&gt;"),
        "Twice escaped."
    );
}
