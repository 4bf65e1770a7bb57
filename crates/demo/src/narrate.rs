//! The demo's narration: numbered steps, each with the checks that held. A check that does not
//! hold ends the demo with [`DemoError::Step`], naming the step and what was seen.

use std::io::Write;

use crate::DemoError;

/// Writes the story and counts what was checked.
pub struct Narrator {
    out: Box<dyn Write + Send>,
    step: usize,
    steps: usize,
    title: String,
    checks: usize,
}

impl Narrator {
    /// Narrates to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self {
            out,
            step: 0,
            steps: crate::STEPS,
            title: String::new(),
            checks: 0,
        }
    }

    /// A line outside the steps.
    pub fn say(&mut self, line: &str) {
        // The narration is best effort: a closed stdout must not change the demo's verdict.
        let _ = writeln!(self.out, "{line}");
    }

    /// Starts the next step.
    pub fn step(&mut self, title: &str) {
        self.step += 1;
        self.title = title.to_owned();
        self.say(&format!("\n[{}/{}] {title}", self.step, self.steps));
    }

    /// Records a check that held.
    pub fn check(&mut self, what: &str) {
        self.checks += 1;
        self.say(&format!("      ✓ {what}"));
    }

    /// An observation that is not a check.
    pub fn note(&mut self, what: &str) {
        self.say(&format!("      · {what}"));
    }

    /// Checks `holds`; if it does not, the step failed with `seen`.
    pub fn ensure(
        &mut self,
        holds: bool,
        what: &str,
        seen: impl FnOnce() -> String,
    ) -> Result<(), DemoError> {
        if holds {
            self.check(what);
            Ok(())
        } else {
            Err(self.failed(what, &seen()))
        }
    }

    /// The error of the current step: `expected` did not hold, `seen` instead.
    pub fn failed(&mut self, expected: &str, seen: &str) -> DemoError {
        self.say(&format!("      ✗ {expected}\n        saw: {seen}"));
        DemoError::Step {
            step: self.step,
            title: self.title.clone(),
            expected: expected.to_owned(),
            seen: seen.to_owned(),
        }
    }

    /// Steps started so far.
    pub fn steps_run(&self) -> usize {
        self.step
    }

    /// Checks that held so far.
    pub fn checks(&self) -> usize {
        self.checks
    }
}
